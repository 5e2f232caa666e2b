"""The --web run in a process of its own, whose command line holds no option of ours.

Locust's web UI re-parses the process's command line as Locust options on every page it
serves, and would refuse the stress test's flags; so `cli` starts this module with a bare
command line and hands it the run on stdin as JSON: {"settings": ..., "overage_costs": ...}.
"""
# Locust monkey-patches the standard library through gevent; it must load before requests/ssl.
import locust  # noqa: F401  isort:skip

import json
import os
import signal
import sys

import gevent

from stress_test.settings import RunSettings


def write_line(text: str) -> None:
    """Print a line now; once the CLI that relays it is gone, drop it and go on stopping."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except OSError:
        pass


def stop_when_orphaned(parent: int) -> None:
    """If the CLI dies without passing on a signal, stop the run as Ctrl-C would (seats back)."""
    while os.getppid() == parent:
        gevent.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> int:
    """Run the load described on stdin with the web UI; return the CLI's exit code."""
    from stress_test.cli import finish
    from stress_test.runner import execute

    handed = json.loads(sys.stdin.read())
    settings = RunSettings.from_dict(handed["settings"])
    watch = gevent.spawn(stop_when_orphaned, os.getppid())
    try:
        run, stopped_by = execute(settings, handed["overage_costs"], write_line)
        return finish(settings, run, stopped_by, write_line)
    finally:
        watch.kill()


if __name__ == "__main__":
    sys.exit(main())
