"""Entry point of `python -m stress_test`."""
# Locust monkey-patches the standard library through gevent; it must load before requests/ssl.
import locust  # noqa: F401  isort:skip

import sys

from stress_test.cli import main

if __name__ == "__main__":
    sys.exit(main())
