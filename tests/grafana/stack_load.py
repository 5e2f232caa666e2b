"""A stress-like load on a native stack touching every path the dashboards show.

It keeps running in a background thread while the tests query, like the live demo: the
demo rules' 30 s rate windows and the 1 m windows of the panels stay filled however long
the checks take on a busy machine.
"""
from __future__ import annotations

import itertools
import threading
import time
import urllib.parse

import requests

DAVINCI = "Vector - DaVinci Configurator SE"
CANOE = "Vector - CANoe"
INCA = "ETAS - INCA"
CYCLE = 15.0  # seconds; each cycle has a fault window, browser errors, a deployment
USERS = [("alice", "body"), ("bob", "body"), ("carol", "chassis"), ("dave", "chassis"),
         ("erin", "adas")]


class StackLoad:
    """Borrow, return, exhaust, expire, fault, deploy, in cycles, until stopped."""

    def __init__(self, stack):
        """Prepare a load on `stack` (a license_demo.stack.stack.Stack)."""
        self.stack = stack
        self.url = stack.server_url
        self.session = requests.Session()
        self.statuses: dict[int, int] = {}
        self.versions: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="grafana-test-load", daemon=True)

    def borrow(self, tool: str, user: str, team: str, **extra) -> requests.Response:
        """POST /api/borrow as synthetic traffic with a request id; count the status."""
        response = self.session.post(
            f"{self.url}/api/borrow", json={"tool": tool, "user": user, "team": team, **extra},
            timeout=10, headers={"X-Synthetic": "true",
                                 "X-Request-ID": f"grafana-test-{user}-{time.monotonic_ns()}"})
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response

    def start(self) -> "StackLoad":
        """Reset the stack, make the one-off changes, and start the cycles."""
        self.stack.reset()
        # Config changes and a demo act: the annotations.
        for tool, change in ((INCA, {"commit": 9}), (DAVINCI, {"commit_cost_monthly": 650})):
            self.stack.admin("PUT", f"/api/config/tools/{urllib.parse.quote(tool, safe='')}",
                             json=change)
        self.stack.admin("POST", "/api/demo/marks", json={"journey": "grafana-test", "act": "load"})
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the cycles and leave the stack as a fresh demo state."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.stack.admin("PUT", "/api/faults/borrow_errors", json={"variant": "off"})
        self.stack.reset()

    def _run(self) -> None:
        """The load loop; an exception is kept for the tests to report."""
        try:
            self._cycles()
        except Exception as exc:  # noqa: BLE001 - surfaced through self.errors
            self.errors.append(repr(exc))

    def _cycles(self) -> None:
        """Churn seats on DaVinci (deep in overage) and CANoe; timed events per cycle."""
        held: dict[str, list[tuple[str, str]]] = {DAVINCI: [], CANOE: []}  # (id, user)
        users = itertools.cycle(USERS)
        for cycle in itertools.count():
            start = time.monotonic()
            # Short leases (the reaper sweeps every 2 s) and a force-return every cycle.
            for tool in (INCA, DAVINCI):
                self.borrow(tool, "lease-user", "powertrain", lease_seconds=1)
            self.stack.admin("POST", "/api/users/alice/force-return")
            for tool in held:  # alice's seats are free now; their ids would only answer 409
                held[tool] = [(id_, user) for id_, user in held[tool] if user != "alice"]
            fault = deployed = False
            while (elapsed := time.monotonic() - start) < CYCLE:
                if self._stop.is_set():
                    return
                user, team = next(users)
                for tool in (DAVINCI, DAVINCI, CANOE):
                    response = self.borrow(tool, user, team)
                    if response.status_code == 201:
                        held[tool].append((response.json()["id"], user))
                    elif response.status_code == 409 and len(held[tool]) > 2:
                        # Exhausted: give seats back so overage borrows go on every scrape.
                        for _ in range(2):
                            self.session.post(f"{self.url}/api/return",
                                              json={"id": held[tool].pop(0)[0]}, timeout=10)
                # 40-80 % of each cycle: injected 503s and browser errors over several scrapes
                # (a counter series born inside one scrape interval shows no increase).
                if not fault and 0.4 * CYCLE <= elapsed < 0.8 * CYCLE:
                    fault = True
                    self.stack.admin("PUT", "/api/faults/borrow_errors", json={"variant": "25pct"})
                if fault and elapsed >= 0.8 * CYCLE:
                    fault = False
                    self.stack.admin("PUT", "/api/faults/borrow_errors", json={"variant": "off"})
                if fault:
                    self.session.post(f"{self.url}/api/client-errors", timeout=10, json={
                        "message": "TypeError: x is undefined", "kind": "error",
                        "page": "dashboard"})
                if not deployed and elapsed >= 0.6 * CYCLE:
                    deployed = True
                    version = f"9.9.{cycle}"
                    self.stack.admin("POST", "/api/deployments",
                                     json={"version": version, "commit": f"abc{cycle:04d}"})
                    self.versions.append(version)
                time.sleep(0.2)
            if fault:
                self.stack.admin("PUT", "/api/faults/borrow_errors", json={"variant": "off"})
