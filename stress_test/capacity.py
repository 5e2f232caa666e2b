"""The capacity profile: users in stages, back-to-back cycles, until the server gives out.

Each stage holds a user count for `stage_seconds`; the next adds `step_users`. A stage is
measured from its second tick (the first second is the ramp) to its end: borrows answered
per second and the borrows' p50/p95/p99. The run stops after the first stage whose p99
passes the bound or whose failed requests pass the ratio; the stage before it is the
server's capacity on this target: what it sustained within the bound.
"""
from __future__ import annotations

import time

from locust import LoadTestShape

from stress_test.profiles import CapacityLimits
from stress_test.run_state import RunState, run_of
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


class CapacityShape(LoadTestShape):
    """Stages of growing user counts; stops at the first stage past a bound."""

    def __init__(self, limits: CapacityLimits, out=print):
        """Stages per `limits`; each finished stage is reported through `out`."""
        super().__init__()
        self.limits, self.out = limits, out
        self.stage = -1
        self.window: StageWindow | None = None
        self.stages: list[dict] = []
        self.finished: str | None = None  # "capacity-bound" or "capacity-max-users"
        # Once finished the shape keeps its last tick: the run's own loop stops the users
        # (and a master its workers) through the run's stop path, seats returned.
        self.last = None

    def users(self, stage: int) -> int:
        """Users of stage number `stage` (0 first)."""
        return self.limits.start_users + stage * self.limits.step_users

    def tick(self):
        """(users, spawn rate) for now; None once a stage passed a bound or users ran out."""
        run = run_of(self.runner.environment)
        if self.finished or run is None:
            return self.last
        stage = int(self.get_run_time() // self.limits.stage_seconds)
        if stage != self.stage:
            if self.window is not None and self.close_stage(run):
                return self.last
            self.stage, self.window = stage, None
            if self.users(stage) > self.limits.max_users:
                return self.stop(run, "capacity-max-users")
        elif self.window is None:
            self.window = StageWindow(run)
        users = self.users(self.stage)
        # Start the stage's new users within about a second.
        self.last = (users, float(max(users if self.stage == 0 else self.limits.step_users, 1)))
        return self.last

    def close_stage(self, run: RunState) -> bool:
        """Record the stage that just ended; stop the run (True) when it passed a bound."""
        figures = self.window.result(run, self.users(self.stage))
        p99 = figures["p99_ms"]
        figures["held"] = (figures["borrows"] > 0 and p99 is not None and p99 <= self.limits.p99_ms
                           and figures["fail_ratio"] <= self.limits.fail_ratio)
        self.stages.append(figures)
        self.out(f"stage {len(self.stages)}: {_users(figures['users'])}  "
                 f"{figures['borrows_per_s']:.0f} borrows/s  p50 {_text(figures['p50_ms'])}  "
                 f"p95 {_text(figures['p95_ms'])}  p99 {_text(p99)}  "
                 f"failures {figures['fail_ratio']:.2%}  {'held' if figures['held'] else 'PASSED A BOUND'}")
        run.capacity = verdict(self.stages, self.limits)
        if not figures["held"]:
            self.stop(run, "capacity-bound")
            return True
        return False

    def stop(self, run: RunState, why: str):
        """End the run: no more operations, holds end; the run's loop sees `finished`."""
        self.finished = why
        run.capacity = verdict(self.stages, self.limits)
        run.quota.close()
        run.stopping.set()
        return self.last


def _users(count: int) -> str:
    """"1 user", "12 users"."""
    return f"{count} user" + ("" if count == 1 else "s")


def _text(ms: float | None) -> str:
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
        lines.append(f"  sustained         {held['borrows_per_s']:.0f} borrows/s at {_users(held['users'])} "
                     f"(p50 {_text(held['p50_ms'])}, p95 {_text(held['p95_ms'])}, "
                     f"p99 {_text(held['p99_ms'])})")
    else:
        lines.append("  sustained         none: the first stage already passed a bound; "
                     "lower --capacity-start or raise the bound")
    if broke:
        lines.append(f"  next stage        {_users(broke['users'])}: {broke['borrows_per_s']:.0f} borrows/s, "
                     f"p99 {_text(broke['p99_ms'])}, failures {broke['fail_ratio']:.2%}")
    else:
        lines.append("  next stage        none passed a bound: raise --capacity-max-users to find the limit")
    return lines

