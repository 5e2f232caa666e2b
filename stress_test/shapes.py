"""Load shapes: the spike (baseline, ramp up, hold, ramp down) as stages of data."""
from __future__ import annotations

import math
from dataclasses import dataclass

from locust import LoadTestShape

try:
    from stress_test.run_state import run_of
except ImportError:  # plain `locust -f` outside the virtualenv; the locustfile fixes sys.path first
    run_of = None


@dataclass(frozen=True)
class Stage:
    """Hold `share` of the peak user count for `seconds`, reaching it within `ramp` seconds."""

    name: str
    seconds: float
    share: float
    ramp: float = 1.0


class SpikeShape(LoadTestShape):
    """Baseline, spike to the peak, hold, ramp back; repeated until the operation budget is spent.

    The peak is the run's worker count (`-u` with plain Locust).
    """

    stages: tuple[Stage, ...] = (
        Stage("baseline", seconds=8, share=0.25),
        Stage("ramp-up", seconds=4, share=1.0, ramp=4),
        Stage("hold", seconds=12, share=1.0),
        Stage("ramp-down", seconds=4, share=0.25, ramp=4),
    )

    def __init__(self, peak: int | None = None):
        """A spike up to `peak` users (None: the run's user count)."""
        super().__init__()
        self.peak = peak

    def peak_users(self) -> int:
        """The user count at the top of the spike."""
        if self.peak:
            return self.peak
        options = self.runner.environment.parsed_options if self.runner else None
        return max(1, int(getattr(options, "num_users", None) or 1))

    def stage_at(self, seconds: float) -> Stage:
        """The stage running `seconds` into the run (the stages repeat as a cycle)."""
        period = sum(stage.seconds for stage in self.stages)
        offset = seconds % period
        for stage in self.stages:
            if offset < stage.seconds:
                return stage
            offset -= stage.seconds
        return self.stages[-1]

    def tick(self):
        """(users, spawn rate) for now, or None once the run's budget is spent."""
        run = run_of(self.runner.environment) if (run_of and self.runner) else None
        if run is not None and run.quota.done:
            return None
        peak = self.peak_users()
        stage = self.stage_at(self.get_run_time())
        users = max(1, math.ceil(peak * stage.share))
        # Spawn (or stop) the whole difference within the stage's ramp time.
        rate = max(1.0, abs(peak - math.ceil(peak * self.stages[0].share)) / stage.ramp)
        return users, rate
