#!/usr/bin/env bash
# The presenter's stress test: numbered menus, or flags (./run_stress_test.sh --help).
# Works from any directory; uses the repository's .venv when it exists, else python3.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"

if [[ -x "$repo/.venv/bin/python" ]]; then
    python="$repo/.venv/bin/python"
elif command -v python3 >/dev/null 2>&1; then
    python="python3"
    if ! "$python" -c 'import locust, requests' >/dev/null 2>&1; then
        echo "run_stress_test.sh: $python lacks Locust; run 'make venv' in $repo (creates .venv)" \
             "or 'pip install locust requests'" >&2
        exit 2
    fi
else
    echo "run_stress_test.sh: no Python found; install Python 3.11+ and run 'make venv' in $repo" >&2
    exit 2
fi

export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m stress_test "$@"
