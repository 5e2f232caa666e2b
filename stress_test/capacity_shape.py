"""The capacity profile's load shape: growing stages of users until one passes a bound.

Kept apart from `shapes.py`, which plain `locust` loads with the locustfile: Locust starts
every shape class of the files it is given, and this one needs its limits.
"""
from __future__ import annotations

from locust import LoadTestShape

from stress_test.capacity import StageWindow, ms_text, users_text, verdict
from stress_test.profiles import CapacityLimits
from stress_test.run_state import RunState, run_of


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
        self.out(f"stage {len(self.stages)}: {users_text(figures['users'])}  "
                 f"{figures['borrows_per_s']:.0f} borrows/s  p50 {ms_text(figures['p50_ms'])}  "
                 f"p95 {ms_text(figures['p95_ms'])}  p99 {ms_text(p99)}  "
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
