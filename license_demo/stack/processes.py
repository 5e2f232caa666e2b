"""Start, wait for and stop the local processes the native stack and the tests run."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `url` until it answers 200; fail early if `proc` exits meanwhile."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {url} answered")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f}s ({last_error})")


@dataclass
class ManagedProcess:
    """A child process with its log file, stopped as a whole process group."""

    name: str
    proc: subprocess.Popen
    log_path: Path
    url: str = ""
    extra: dict = field(default_factory=dict)

    def stop(self, timeout: float = 10.0) -> None:
        """Send SIGTERM to the process group, then SIGKILL if it lingers."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the process log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# Linux's prctl(PR_SET_PDEATHSIG): the child gets SIGTERM when the thread that started it
# ends, even by SIGKILL of the whole process, so no Prometheus is left holding a standard
# port (start long-lived processes from the main thread). Loaded before any fork: the child
# only makes the call.
_PR_SET_PDEATHSIG = 1
_prctl = getattr(ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True), "prctl", None)


def _end_with_parent() -> None:
    """In the child, before exec: ask for SIGTERM when the parent goes away."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(name: str, argv: list[str], log_path: Path, env: dict | None = None,
          cwd: Path | None = None) -> ManagedProcess:
    """Start `argv` in its own process group with stdout and stderr sent to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        preexec_fn=_end_with_parent,
    )
    log.close()
    return ManagedProcess(name=name, proc=proc, log_path=log_path)


def start_license_server(data_dir: Path, port: int | None = None, env: dict | None = None,
                         workers: int = 2, host: str = "127.0.0.1",
                         timeout: float = 30.0) -> ManagedProcess:
    """Run `python -m license_server` on loopback with its database in `data_dir`."""
    port = port or free_port(host)
    data_dir.mkdir(parents=True, exist_ok=True)
    server_env = {
        "DATABASE_URL": f"sqlite:///{data_dir / 'license.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(data_dir / "prom-multiproc"),
        **(env or {}),
    }
    argv = [sys.executable, "-m", "license_server", "--host", host, "--port", str(port),
            "--workers", str(workers)]
    managed = spawn("license-server", argv, data_dir / "license-server.log", env=server_env)
    managed.url = f"http://{host}:{port}"
    try:
        wait_http(managed.url + "/readyz", timeout=timeout, proc=managed.proc)
    except (RuntimeError, TimeoutError) as exc:
        managed.stop()
        raise RuntimeError(f"license server did not start: {exc}\n{managed.log_tail()}") from exc
    return managed
