"""Drive borrow load for the journeys: the stress-test package as a subprocess, and small loops."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from license_demo.clients import DemoError, ServerClient


@dataclass
class StressRun:
    """A stress test running in the background, with where its summary and output go."""

    proc: subprocess.Popen
    folder: tempfile.TemporaryDirectory
    started: float
    follower: threading.Thread | None = None

    def follow(self, out) -> None:
        """Pass the stress test's output lines (its live line every second) to `out` as they come."""
        def tail() -> None:
            with open(self.output_path, errors="replace") as output:
                while True:
                    line = output.readline()
                    if line:
                        if line.strip():
                            out(f"  | {line.rstrip()}")
                    elif self.proc.poll() is not None:
                        return
                    else:
                        time.sleep(0.2)
        self.follower = threading.Thread(target=tail, name="stress-output", daemon=True)
        self.follower.start()

    @property
    def summary_path(self) -> Path:
        """The JSON summary the stress test writes when it ends."""
        return Path(self.folder.name) / "summary.json"

    @property
    def output_path(self) -> Path:
        """The stress test's own output (for error messages)."""
        return Path(self.folder.name) / "output.log"

    def stop(self) -> None:
        """End the stress test if it still runs (a journey stopped early) and drop its files.

        SIGTERM stops it like Ctrl-C: cycle modes return the seats they hold before exiting.
        """
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.follower is not None:
            self.follower.join(timeout=5)
        self.folder.cleanup()


def start_stress_test(target: str, tool: str, seed: int, profile: str = "heavy",
                      mode: str = "borrow-only", out=print, ops: int | None = None,
                      team: str | None = None, live: bool = False) -> StressRun:
    """Start `python -m stress_test` against `target` in the background.

    `ops` overrides the operations per worker (the profile's pace stays); `live` passes
    the stress test's output lines to `out` while it runs.
    """
    folder = tempfile.TemporaryDirectory(prefix="license-demo-load-")
    extra = (["--ops", str(ops)] if ops else []) + (["--team", team] if team else [])
    argv = [sys.executable, "-m", "stress_test", "--target", target, "--profile", profile,
            "--mode", mode, "--tool", tool, "--yes", "--summary",
            str(Path(folder.name) / "summary.json"), "--seed", str(seed), *extra]
    out(f"  $ python -m stress_test --target {target} --profile {profile} --mode {mode} "
        f"--tool {tool!r} --seed {seed}" + "".join(f" {a}" for a in extra))
    with open(Path(folder.name) / "output.log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    run = StressRun(proc, folder, time.monotonic())
    if live:
        run.follow(out)
    return run


def finish_stress_test(run: StressRun, timeout: float = 300.0) -> dict:
    """Wait for a background stress test and return its summary (JSON) as a dict."""
    try:
        run.proc.wait(timeout=max(1.0, timeout - (time.monotonic() - run.started)))
    except subprocess.TimeoutExpired as exc:
        run.proc.kill()
        run.proc.wait()
        raise DemoError(f"the stress test ran longer than {timeout:.0f}s; check the server") from exc
    if run.follower is not None:
        run.follower.join(timeout=5)
    try:
        output = run.output_path.read_text(errors="replace")
        if run.proc.returncode != 0:
            raise DemoError(f"the stress test failed (exit {run.proc.returncode}):\n{output[-1500:]}")
        try:
            return json.loads(run.summary_path.read_text())
        except (OSError, ValueError):
            # A summary is a convenience; the journeys measure through the server and Prometheus.
            return {"output": output[-2000:]}
    finally:
        run.folder.cleanup()


def run_stress_test(target: str, tool: str, seed: int, profile: str = "heavy",
                    mode: str = "borrow-only", timeout: float = 300.0, out=print,
                    **options) -> dict:
    """Run the stress test to its end and return its summary (`options`: see start_stress_test)."""
    return finish_stress_test(start_stress_test(target, tool, seed, profile, mode, out, **options),
                              timeout)


def borrow(server: ServerClient, tool: str, user: str, team: str | None = None) -> requests.Response:
    """One borrow attempt as a client would send it, marked synthetic."""
    body = {"tool": tool, "user": user, **({"team": team} if team else {})}
    return server.call("POST", "/api/borrow", json=body, expect_error=True,
                       headers={"X-Synthetic": "true"})


def give_back(server: ServerClient, borrow_id: str) -> None:
    """Return one borrow, ignoring one that is already back."""
    server.call("POST", "/api/return", json={"id": borrow_id}, expect_error=True,
                headers={"X-Synthetic": "true"})


def borrow_return_cycles(server: ServerClient, tools: list[str], users: list[str],
                         duration: float, rng, pause: float = 0.05) -> dict:
    """Borrow and return seats for `duration` seconds; count outcomes and keep failing request ids."""
    counts: dict[str, int] = {}
    failed_ids: list[str] = []
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        tool = rng.choice(tools)
        response = borrow(server, tool, rng.choice(users), "powertrain")
        counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1
        if response.status_code == 201:
            give_back(server, response.json()["id"])
        elif response.status_code >= 500:
            failed_ids.append(response.headers.get("X-Request-ID")
                              or response.request.headers.get("X-Request-ID", ""))
        time.sleep(pause)
    return {"status_counts": counts, "failed_request_ids": failed_ids}


def release_holders(server: ServerClient, tool: str | None = None) -> dict:
    """Force-return the seats of every user holding one (of `tool`): the job holding them ended."""
    filters = {"tool": tool} if tool else {}
    users = sorted({b["user"] for b in server.borrows(**filters)})
    returned = sum(server.force_return(user)["returned"] for user in users)
    return {"users": users, "returned": returned}


class BackgroundTraffic:
    """Users borrowing and returning in a thread, with outcomes counted since the last `take()`."""

    def __init__(self, server: ServerClient, tools: list[str], users: list[str], rng,
                 pause: float = 0.05):
        """Prepare the loop; `start()` runs it."""
        self.server, self.tools, self.users, self.rng, self.pause = server, tools, users, rng, pause
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._failed: list[str] = []
        self._thread = threading.Thread(target=self._loop, name="demo-traffic", daemon=True)

    def _loop(self) -> None:
        """Borrow, return, count; never raise out of the thread."""
        while not self._stop.is_set():
            try:
                result = borrow_return_cycles(self.server, self.tools, self.users, 0.5, self.rng,
                                              self.pause)
            except Exception as exc:  # a failing request must not end the traffic silently
                result = {"status_counts": {"error": 1}, "failed_request_ids": [str(exc)]}
            with self._lock:
                for status, n in result["status_counts"].items():
                    self._counts[status] = self._counts.get(status, 0) + n
                self._failed += result["failed_request_ids"]

    def start(self) -> "BackgroundTraffic":
        """Start the thread."""
        self._thread.start()
        return self

    def take(self) -> dict:
        """Counts and failing request ids since the previous call."""
        with self._lock:
            taken = {"status_counts": self._counts, "failed_request_ids": self._failed}
            self._counts, self._failed = {}, []
        return taken

    def stop(self) -> None:
        """Stop the thread and wait for its last round."""
        self._stop.set()
        self._thread.join(timeout=10)
