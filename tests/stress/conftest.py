"""Fixtures of the stress-test tests: run the CLI as the presenter does, read the server back."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stress_checks import REPO


@pytest.fixture()
def stress_cli():
    """Run `python -m stress_test ARGS` to its end; returns the CompletedProcess (text)."""
    def run(*args: str, timeout: float = 120, stdin: str | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        """One run with `args`, answers on stdin, in `cwd` (the repository by default)."""
        return subprocess.run([sys.executable, "-m", "stress_test", *args], input=stdin,
                              capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO)
    return run


@pytest.fixture()
def server(server_factory):
    """A fresh license server (gunicorn, SQLite, the demo catalog) for one test."""
    return server_factory()
