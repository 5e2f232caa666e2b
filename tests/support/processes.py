"""The tests' local processes: a free port, waiting for an HTTP answer, a child stopped with its
process group, and the license server as `python -m license_server` runs it."""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .polling import until

# Linux's prctl(PR_SET_PDEATHSIG): a child gets SIGTERM when the thread that started it ends, even
# when the test worker is killed, so no Prometheus or server outlives the run. libc is loaded here,
# before any fork; the child only makes the call.
_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.create_server((host, 0)) as sock:
        return sock.getsockname()[1]


def answers(url: str, proc: subprocess.Popen | None = None) -> bool:
    """Whether `url` answers 200 now; RuntimeError once `proc` has exited."""
    if proc is not None and proc.poll() is not None:
        raise RuntimeError(f"process exited with code {proc.returncode} before {url} answered")
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200; RuntimeError at once if `proc` exits meanwhile,
    AssertionError when `timeout` passes first."""
    until(lambda: answers(url, proc), timeout, f"{url} answering 200", poll=0.2)


class Process:
    """A child in its own process group with its output in `log_path`; `url` and `extra` are
    set by whoever starts it."""

    def __init__(self, name: str, proc: subprocess.Popen, log_path: Path):
        self.name, self.proc, self.log_path, self.url, self.extra = name, proc, log_path, "", {}

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the process group, SIGKILL when it is still running after `timeout`."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log, for failure messages ("" before it exists)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def spawn(name: str, argv: list[str], log_path: Path, env: dict | None = None,
          cwd: Path | None = None) -> Process:
    """Start `argv` in a new process group, stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
                                preexec_fn=lambda: _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM))
    return Process(name, proc, log_path)


def start_license_server(data_dir: Path, port: int | None = None, env: dict | None = None,
                         workers: int = 2, host: str = "127.0.0.1", timeout: float = 30.0) -> Process:
    """`python -m license_server` on `host`, SQLite and the multiprocess metrics in `data_dir`;
    returned once `/readyz` answers, its `url` set."""
    port = port or free_port(host)
    data_dir.mkdir(parents=True, exist_ok=True)
    server_env = {"DATABASE_URL": f"sqlite:///{data_dir / 'license.db'}",
                  "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "prom-multiproc"), **(env or {})}
    server = spawn("license-server", [sys.executable, "-m", "license_server", "--host", host,
                                      "--port", str(port), "--workers", str(workers)],
                   data_dir / "license-server.log", env=server_env)
    server.url = f"http://{host}:{port}"
    try:
        wait_http(server.url + "/readyz", timeout=timeout, proc=server.proc)
    except (RuntimeError, AssertionError) as exc:
        server.stop()
        pytest.fail(f"the license server did not start ({exc}); its log ends:\n{server.log_tail()}")
    return server
