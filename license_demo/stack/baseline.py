"""Normal operations: a light, steady background of engineers on every tool, within commit.

`license-demo stack` starts it by default (`--no-baseline` leaves the server idle), so the
dashboard and the graphs show everyday use at Part 1 instead of flat zeros. Each tool gets
a few engineers (a quarter of its commit seats, at least one) who borrow a seat, work with
it for some seconds and give it back; however their holds line up they never need more
seats than the commit, so no alert has a reason to fire. They come from every team but
the story's build team, whose job then stands out against them.
"""
from __future__ import annotations

import random
import threading
import time

import requests

from license_demo.clients import ServerClient
from license_demo.timestamps import epoch
from stress_test.population import BUILD_TEAM, TEAMS, TOOL_WEIGHTS

HOLD_SECONDS = (4.0, 10.0)
THINK_SECONDS = (3.0, 9.0)
# A seat comes back by itself when this process dies without returning it.
LEASE_SECONDS = 60
HEADERS = {"X-Synthetic": "true"}


def is_baseline_seat(borrow: dict) -> bool:
    """Whether a held seat (a row of GET /api/borrows) is one of the baseline's.

    Only the baseline borrows with its short lease (the stress test's is minutes); its seats
    are within commit and held by an engineer of one of its teams, never the build team.
    """
    try:
        lease = epoch(borrow["expires_at"]) - epoch(borrow["borrowed_at"])
    except (KeyError, TypeError, ValueError):
        return False
    team = borrow.get("team")
    return (not borrow.get("overage") and team != BUILD_TEAM and team in TEAMS
            and borrow.get("user") in TEAMS[team] and lease <= LEASE_SECONDS + 1)


def engineers_per_tool(commit: int) -> int:
    """How many background engineers a tool with `commit` seats gets: well below the commit."""
    return max(1, commit // 4) if commit > 1 else 0


def teams_for(tool: str) -> list[str]:
    """Teams that use `tool`, most frequent users first; the build team is left out."""
    users = [(weights.get(tool, 0), team) for team, weights in TOOL_WEIGHTS.items()
             if team != BUILD_TEAM and weights.get(tool, 0) > 0]
    ranked = [team for _, team in sorted(users, reverse=True)]
    return ranked or [team for team in TEAMS if team != BUILD_TEAM]


class BaselineLoad:
    """Background engineers in threads; `start()` reads the catalog, `stop()` returns every seat."""

    def __init__(self, server_url: str, seed: int = 11, hold=HOLD_SECONDS, think=THINK_SECONDS):
        """Prepare the load against `server_url`; nothing is sent before `start()`."""
        self.server_url = server_url.rstrip("/")
        self.seed, self.hold, self.think = seed, hold, think
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.counts = {"borrowed": 0, "returned": 0, "refused": 0, "errors": 0}
        self._lock = threading.Lock()

    def start(self) -> "BaselineLoad":
        """Start one thread per background engineer of every tool in the catalog."""
        tools = ServerClient(self.server_url).tools()
        for tool in tools:
            teams = teams_for(tool["name"])
            for index in range(engineers_per_tool(int(tool["commit"]))):
                team = teams[index % len(teams)]
                thread = threading.Thread(
                    target=self._engineer, args=(tool["name"], team, index), daemon=True,
                    name=f"baseline-{tool['name']}-{index}")
                self.threads.append(thread)
        for thread in self.threads:
            thread.start()
        return self

    @property
    def engineers(self) -> int:
        """How many background engineers run."""
        return len(self.threads)

    def _count(self, key: str) -> None:
        """Add one to an outcome counter."""
        with self._lock:
            self.counts[key] += 1

    def _engineer(self, tool: str, team: str, index: int) -> None:
        """Borrow, hold, return, think; until stopped, then give back the seat in hand."""
        rng = random.Random(f"{self.seed}:{tool}:{index}")
        # Out of step from the start, so the background does not pulse.
        if self.stopping.wait(rng.uniform(0, self.think[1])):
            return
        with requests.Session() as session:
            while not self.stopping.is_set():
                user = rng.choice(TEAMS[team])
                seat = self._borrow(session, tool, user, team)
                if seat is not None:
                    self.stopping.wait(rng.uniform(*self.hold))
                    self._return(session, seat)
                self.stopping.wait(rng.uniform(*self.think))

    def _borrow(self, session, tool: str, user: str, team: str) -> str | None:
        """One borrow with a lease; the borrow id, or None when refused or failed."""
        try:
            response = session.post(f"{self.server_url}/api/borrow", headers=HEADERS, timeout=10,
                                    json={"tool": tool, "user": user, "team": team,
                                          "lease_seconds": LEASE_SECONDS})
        except requests.RequestException:
            self._count("errors")
            return None
        if response.status_code == 201:
            self._count("borrowed")
            return response.json()["id"]
        self._count("refused" if response.status_code == 409 else "errors")
        return None

    def _return(self, session, borrow_id: str) -> None:
        """Give the seat back; a few tries, as the server may be restarting."""
        for _ in range(3):
            try:
                response = session.post(f"{self.server_url}/api/return", headers=HEADERS,
                                        json={"id": borrow_id}, timeout=10)
                if response.status_code in (200, 404, 409):
                    self._count("returned")
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self._count("errors")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every engineer; each returns the seat it holds before its thread ends."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=timeout)
