"""The spike's load shape (baseline, ramp up, hold, ramp down) driven by the stages in `spike.py`.

The one shape in this file, so `locust -f stress_test/locustfile.py,stress_test/shapes.py` runs
it; the capacity profile's stages are in `capacity_shape.py`."""
from __future__ import annotations

from locust import LoadTestShape

from stress_test.run_state import run_of
from stress_test.spike import SPIKE, Stage, users_at


class SpikeShape(LoadTestShape):
    """Baseline, spike to the peak, hold, ramp back; repeated until the operation budget is spent.

    The peak is the run's worker count (`-u` with plain Locust).
    """

    stages: tuple[Stage, ...] = SPIKE

    def __init__(self, peak: int | None = None, stop_when_done: bool = True):
        """A spike up to `peak` users (None: the run's user count).

        `stop_when_done` False: the run's own loop ends it once the budget is spent (a
        master then stops its workers through the run's messages, not Locust's stop).
        """
        super().__init__()
        self.peak = peak
        self.stop_when_done = stop_when_done
        self.last = None

    def peak_users(self) -> int:
        """The user count at the top of the spike."""
        if self.peak:
            return self.peak
        options = self.runner.environment.parsed_options if self.runner else None
        return max(1, int(getattr(options, "num_users", None) or 1))

    def tick(self):
        """(users, spawn rate) for now, or None once the run's budget is spent."""
        run = run_of(self.runner.environment) if self.runner else None
        if run is not None and run.quota.done and (self.stop_when_done or self.last is None):
            return None
        if run is None or not run.quota.done:
            self.last = users_at(self.stages, self.peak_users(), self.get_run_time())
        return self.last
