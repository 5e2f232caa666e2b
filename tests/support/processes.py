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
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

# Linux's prctl(PR_SET_PDEATHSIG): a child gets SIGTERM when the thread that started it ends, even
# when the test worker is killed, so no Prometheus or server outlives the run. libc is loaded here,
# before any fork; the child only makes the call.
_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200; fail at once if `proc` exits meanwhile."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {url} answered")
        try:
            answer = requests.get(url, timeout=2)
            if answer.status_code == 200:
                return
            last = f"HTTP {answer.status_code}"
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s ({last})")


@dataclass
class Process:
    """A child in its own process group, its output in `log_path`; `url` and `extra` for the caller."""

    name: str
    proc: subprocess.Popen
    log_path: Path
    url: str = ""
    extra: dict = field(default_factory=dict)

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
        """The last lines of the log, for failure messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


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
    except (RuntimeError, TimeoutError) as exc:
        server.stop()
        raise RuntimeError(f"license server did not start: {exc}\n{server.log_tail()}") from exc
    return server
