"""The live line printed every second while the load runs."""
from __future__ import annotations

import time

import gevent
import requests

from stress_test.run_summary import percentile
from stress_test.run_state import RunState
from stress_test.tool_catalog import read_tools


def overage_seats(session: requests.Session, run: RunState) -> int | None:
    """Overage seats in use now on the run's tools (GET /api/tools); None when unreadable.

    Also refreshes the run's overage prices, so cost follows a price changed mid-run.
    """
    try:
        tools = {tool["name"]: tool for tool in read_tools(run.settings.target, timeout=2, session=session)}
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return None
    run.overage_costs.update({name: tool.get("overage_cost", 0) for name, tool in tools.items()})
    return sum(tools[name].get("overage_in_use", 0) for name in run.settings.tools if name in tools)


def line(run: RunState, seats: int | None, rate: float, p95: float | None) -> str:
    """One live line: progress, outcomes, overage seats, cost, rate and p95 latency."""
    total = run.total()
    planned = f"/{run.quota.total}" if run.quota.total is not None else ""
    retries = f"retries {run.retries}  " if run.retries else ""
    return (f"{run.elapsed:6.1f}s  ops {run.quota.finished:>5}{planned}  "
            f"granted {total.granted} ({total.commit} commit / {total.overage} overage)  "
            f"refused {total.refused}  returned {total.returned}  errors {run.failures}  {retries}"
            f"overage seats {'?' if seats is None else seats}  cost ${total.cost:,.0f}  "
            f"{rate:5.1f} ops/s  p95 {'-' if p95 is None else f'{p95:.0f} ms'}")


def print_live(run: RunState, out) -> None:
    """Print a live line every `interval` seconds until killed (runs in its own greenlet)."""
    interval = run.settings.interval
    last_ops, last_at = run.quota.finished, time.monotonic()
    with requests.Session() as session:
        while True:
            gevent.sleep(interval)
            seats = overage_seats(session, run)
            now = time.monotonic()
            rate = (run.quota.finished - last_ops) / max(now - last_at, 1e-6)
            last_ops, last_at = run.quota.finished, now
            out(line(run, seats, rate, percentile(run.take_recent(), 0.95)))
