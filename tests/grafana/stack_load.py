"""A stress-like load on a native stack touching every path the dashboards show."""
from __future__ import annotations

import itertools
import time
import urllib.parse

import requests

DAVINCI = "Vector - DaVinci Configurator SE"
CANOE = "Vector - CANoe"
INCA = "ETAS - INCA"


def _borrow(session, url, tool, user, team, **extra):
    """POST /api/borrow; return the response."""
    return session.post(f"{url}/api/borrow", json={"tool": tool, "user": user, "team": team,
                                                     **extra}, timeout=10,
                        headers={"X-Synthetic": "true",
                                 "X-Request-ID": f"grafana-test-{user}-{time.monotonic_ns()}"})


def run_load(stack, seconds: float = 15.0) -> dict:
    """Drive every code path the dashboards show: overage, exhaustion, expiries, faults, deploys."""
    url = stack.server_url
    session = requests.Session()
    stack.reset()
    token = {"Authorization": f"Bearer {stack.admin_token}"}
    # A config change, a demo act and a client error: annotations and frontend-error panels.
    for tool, change in ((INCA, {"commit": 9}), (DAVINCI, {"commit_cost_monthly": 650})):
        stack.admin("PUT", f"/api/config/tools/{urllib.parse.quote(tool, safe='')}", json=change)
    stack.admin("POST", "/api/demo/marks", json={"scenario": "grafana-test", "act": "load"})
    session.post(f"{url}/api/client-errors", json={"message": "TypeError: x is undefined",
                                                   "kind": "error", "page": "/dashboard"},
                 timeout=10).raise_for_status()
    # Short leases for the expiry panel (the reaper sweeps every 2 s).
    for tool in (INCA, DAVINCI):
        _borrow(session, url, tool, "lease-user", "powertrain", lease_seconds=1)
    stop = time.monotonic() + seconds
    held: dict[str, list[str]] = {DAVINCI: [], CANOE: []}
    statuses: dict[int, int] = {}
    users = itertools.cycle([("alice", "body"), ("bob", "body"), ("carol", "chassis"),
                             ("dave", "chassis"), ("erin", "adas")])
    deployed = faulted = False
    while time.monotonic() < stop:
        user, team = next(users)
        for tool in (DAVINCI, DAVINCI, CANOE):
            response = _borrow(session, url, tool, user, team)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code == 201:
                held[tool].append(response.json()["id"])
            elif response.status_code == 409 and len(held[tool]) > 2:
                # Exhausted: give two seats back so overage borrows keep happening every scrape.
                for _ in range(2):
                    session.post(f"{url}/api/return", json={"id": held[tool].pop(0)}, timeout=10)
        remaining = stop - time.monotonic()
        if not faulted and remaining < seconds * 0.6:
            faulted = True
            stack.admin("PUT", "/api/faults/borrow_errors", json={"variant": "100pct"})
            for _ in range(3):
                resp = _borrow(session, url, CANOE, "frank", "adas")
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
            stack.admin("PUT", "/api/faults/borrow_errors", json={"variant": "off"})
        if not deployed and remaining < seconds * 0.4:
            deployed = True
            stack.admin("POST", "/api/deployments", json={"version": "9.9.9", "commit": "abc1234"})
        time.sleep(0.15)
    stack.admin("POST", "/api/users/alice/force-return")
    requests.get(f"{url}/api/tools", headers=token, timeout=10)
    return {"statuses": statuses, "finished": time.time()}
