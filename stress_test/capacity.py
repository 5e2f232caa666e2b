"""The capacity profile: users in stages, back-to-back cycles, until the server gives out.

Each stage holds a user count for `stage_seconds`; the next adds `step_users`. A stage is
measured from its second tick (the first second is the ramp) to its end: borrows answered
per second and the borrows' p50/p95/p99. The run stops after the first stage whose p99
passes the bound or whose failed requests pass the ratio; the stage before it is the
server's capacity on this target: what it sustained within the bound. The stages run in
`capacity_shape.CapacityShape`; this module holds their figures and needs no Locust.
"""
from __future__ import annotations

import time

from stress_test.profiles import CapacityLimits
from stress_test.run_state import RunState
from stress_test.run_summary import percentile


class StageWindow:
    """Where a stage's measurement started: time, borrows so far, requests and failures so far."""

    def __init__(self, run: RunState):
        """Mark the run's counters now."""
        self.at = time.monotonic()
        self.borrows = len(run.latencies.get("borrow", []))
        self.requests, self.failures = run.requests, run.failures

    def result(self, run: RunState, users: int) -> dict:
        """The stage's figures from this mark to now."""
        seconds = max(time.monotonic() - self.at, 1e-6)
        borrows = run.latencies.get("borrow", [])[self.borrows:]
        requests = run.requests - self.requests
        failures = run.failures - self.failures
        return {"users": users, "seconds": round(seconds, 2), "borrows": len(borrows),
                "borrows_per_s": round(len(borrows) / seconds, 1),
                "fail_ratio": round(failures / requests, 4) if requests else 0.0,
                **{f"p{int(q * 100)}_ms": _ms(percentile(borrows, q)) for q in (0.5, 0.95, 0.99)}}


def _ms(value: float | None) -> float | None:
    """Milliseconds rounded for reading."""
    return None if value is None else round(value, 1)


def users_text(count: int) -> str:
    """"1 user", "12 users"."""
    return f"{count} user" + ("" if count == 1 else "s")


def ms_text(ms: float | None) -> str:
    """A latency for the stage line."""
    return "-" if ms is None else f"{ms:.0f} ms"


def verdict(stages: list[dict], limits: CapacityLimits) -> dict:
    """The capacity found so far: the last stage that held, and the one that passed a bound."""
    held = [stage for stage in stages if stage["held"]]
    broke = next((stage for stage in stages if not stage["held"]), None)
    return {"p99_bound_ms": limits.p99_ms, "fail_ratio_bound": limits.fail_ratio,
            "stage_seconds": limits.stage_seconds, "stages": stages,
            "sustained": held[-1] if held else None, "passed_bound": broke}


def capacity_lines(capacity: dict) -> list[str]:
    """The capacity in words, for the summary table."""
    bound = (f"p99 <= {capacity['p99_bound_ms']:g} ms, failures <= "
             f"{capacity['fail_ratio_bound']:.0%}")
    lines = [f"Capacity ({bound}):"]
    held, broke = capacity["sustained"], capacity["passed_bound"]
    if held:
        lines.append(f"  sustained         {held['borrows_per_s']:.0f} borrows/s at {users_text(held['users'])} "
                     f"(p50 {ms_text(held['p50_ms'])}, p95 {ms_text(held['p95_ms'])}, "
                     f"p99 {ms_text(held['p99_ms'])})")
    else:
        lines.append("  sustained         none: the first stage already passed a bound; "
                     "lower --capacity-start or raise the bound")
    if broke:
        lines.append(f"  next stage        {users_text(broke['users'])}: {broke['borrows_per_s']:.0f} borrows/s, "
                     f"p99 {ms_text(broke['p99_ms'])}, failures {broke['fail_ratio']:.2%}")
    else:
        lines.append("  next stage        none passed a bound: raise --capacity-max-users to find the limit")
    return lines

