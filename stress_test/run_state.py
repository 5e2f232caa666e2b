"""The shared state of one run: the operation budget, outcome tallies, seats held, latencies."""
from __future__ import annotations

import time
from pathlib import Path
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import gevent.event

from stress_test.population import Population
from stress_test.settings import RunSettings


class OperationQuota:
    """Hands out borrow operations so that exactly workers x ops of them happen.

    Per-worker (default): worker slot N gets `ops` operations; users spawned beyond the
    planned workers get no slot. Pooled (spike mode, plain `locust`): users come and go with
    the load shape, so they share one budget and reuse the slots of stopped users.
    """

    def __init__(self, workers: int, ops: int, pooled: bool = False, open_ended: bool = False,
                 total: int | None = None, slot_source=None, slot_release=None):
        """Budget `workers` x `ops` (`total` when given); `open_ended` (web UI) gives every new
        user a fresh slot; `ops` 0 (capacity) sets no budget at all.

        A distributed worker takes its slots from the master (`slot_source()`, None when every
        planned worker exists; `slot_release(slot)`), so the users of all workers are the
        planned workers, each once.
        """
        self.workers, self.ops, self.pooled, self.open_ended = workers, ops, pooled, open_ended
        self.total = None if open_ended or not ops else (workers * ops if total is None else total)
        self.started = 0
        self.finished = 0
        self._remaining: dict[int, int] = {}
        self._free: set[int] = set()
        self._next_slot = 0
        self._source, self._release = slot_source, slot_release
        self.closed = False

    def claim_slot(self) -> int | None:
        """A worker slot for a starting user, or None when every planned worker exists."""
        if self._source is not None:
            slot = self._source()
        elif self.pooled and self._free:
            slot = min(self._free)
            self._free.discard(slot)
            return slot
        elif not (self.pooled or self.open_ended) and self._next_slot >= self.workers:
            return None
        else:
            slot = self._next_slot
            self._next_slot += 1
        if slot is not None:
            self._remaining[slot] = self.ops
        return slot

    def release_slot(self, slot: int) -> None:
        """Give a stopped user's slot back (pooled budgets only: the next user takes its name)."""
        if self._release is not None:
            self._release(slot)
        elif self.pooled:
            self._free.add(slot)

    def take(self, slot: int | None) -> bool:
        """Reserve one operation for `slot`; False when its budget (or the run) is over."""
        if self.closed or slot is None:
            return False
        if not self.ops:
            pass  # no budget: the run ends on its bounds (capacity)
        elif self.pooled:
            if self.total is not None and self.started >= self.total:
                return False
        elif self._remaining.get(slot, 0) <= 0:
            return False
        else:
            self._remaining[slot] -= 1
        self.started += 1
        return True

    def finish(self) -> None:
        """Mark one reserved operation as complete."""
        self.finished += 1

    def close(self) -> None:
        """Hand out no more operations (the run is stopping)."""
        self.closed = True

    @property
    def in_flight(self) -> int:
        """Operations reserved but not yet complete."""
        return self.started - self.finished

    @property
    def done(self) -> bool:
        """True when every planned operation has been made and none is in flight."""
        return self.total is not None and self.finished >= self.total


@dataclass
class Tally:
    """Outcomes for one tool (or all of them)."""

    granted: int = 0
    commit: int = 0
    overage: int = 0
    refused: int = 0
    returned: int = 0
    errors: int = 0
    cost: float = 0.0
    retries: int = 0

    def add(self, other: "Tally") -> "Tally":
        """Sum of two tallies."""
        return Tally(*(getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__))


class Retried(Exception):
    """A borrow that got no answer and is sent again with its Idempotency-Key.

    Locust's own statistics list the lost send as a failure; the run counts it as a retry,
    because the resend gets the same seat (or refusal) and the operation still succeeds.
    """


@dataclass
class Seat:
    """A seat this run holds."""

    id: str
    tool: str
    user: str
    overage: bool


@dataclass
class RunState:
    """Everything the users, the live line and the summary share during one run."""

    settings: RunSettings
    quota: OperationQuota
    population: Population
    overage_costs: dict[str, float] = field(default_factory=dict)
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    held: dict[str, Seat] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    recent: list[float] = field(default_factory=list)
    requests: int = 0
    failures: int = 0
    failure_reasons: Counter = field(default_factory=Counter)
    retries: int = 0
    retry_reasons: Counter = field(default_factory=Counter)
    already_returned: int = 0
    cleanup_returned: int = 0
    started_at: float = field(default_factory=time.monotonic)
    # The capacity profile's stages and verdict (stress_test.capacity), once it has any.
    capacity: dict | None = None
    # A distributed worker's latencies not yet sent to the master (None: not a worker).
    unsent_latencies: dict[str, list[float]] | None = None
    # Locust's HTML report of the run (its folder holds the CSVs and summary.json too).
    report: Path | None = None
    stopping: gevent.event.Event = field(default_factory=gevent.event.Event)

    @classmethod
    def create(cls, settings: RunSettings, pooled: bool = False, open_ended: bool = False,
               overage_costs: dict[str, float] | None = None, **slots) -> "RunState":
        """A fresh state for `settings` (`slots`: a distributed worker's share, see OperationQuota)."""
        quota = OperationQuota(settings.profile.workers, settings.profile.ops, pooled, open_ended,
                               **slots)
        population = Population(settings.seed, settings.team, settings.user_prefix)
        return cls(settings, quota, population, dict(overage_costs or {}))

    def attach(self, environment) -> "RunState":
        """Make this state reachable from the users of `environment` and feed it its requests."""
        environment.license_run = self
        environment.events.request.add_listener(self.observe)
        return self

    def granted(self, seat: dict, keep: bool) -> None:
        """Count a granted borrow; remember the seat until it is returned."""
        tally = self.tallies[seat["tool"]]
        tally.granted += 1
        if seat.get("overage"):
            tally.overage += 1
            tally.cost += float(seat.get("cost") or self.overage_costs.get(seat["tool"], 0.0))
        else:
            tally.commit += 1
        self.held[seat["id"]] = Seat(seat["id"], seat["tool"], seat["user"], bool(seat.get("overage")))

    def refused(self, tool: str) -> None:
        """Count a borrow the server refused because no seat was left (409)."""
        self.tallies[tool].refused += 1

    def returned(self, seat: Seat, already: bool = False) -> None:
        """Count a seat given back; `already`: the server had freed it before (lease, admin)."""
        self.held.pop(seat.id, None)
        if already:
            self.already_returned += 1
        else:
            self.tallies[seat.tool].returned += 1

    def observe(self, request_type, name, response_time, response_length, exception=None,
                context=None, **_ignored) -> None:
        """Locust `request` event listener: latency and failure of every request."""
        self.requests += 1
        self.latencies[name].append(response_time)
        self.recent.append(response_time)
        if self.unsent_latencies is not None:
            self.unsent_latencies[name].append(response_time)
        tool = (context or {}).get("tool")
        if isinstance(exception, Retried):
            # Not a failure: counting it as one would fail a run whose every borrow succeeded.
            self.retries += 1
            self.retry_reasons[f"{name}: {exception}"[:160]] += 1
            if tool:
                self.tallies[tool].retries += 1
        elif exception is not None:
            self.failures += 1
            self.failure_reasons[f"{name}: {exception}"[:160]] += 1
            if tool:
                self.tallies[tool].errors += 1

    def total(self) -> Tally:
        """Outcomes summed over every tool."""
        result = Tally()
        for tally in self.tallies.values():
            result = result.add(tally)
        return result

    def take_recent(self) -> list[float]:
        """Latencies since the previous call (for the live p95)."""
        recent, self.recent = self.recent, []
        return recent

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started_at

    @property
    def fail_ratio(self) -> float:
        """Failed requests / requests made (0 before the first request)."""
        return self.failures / self.requests if self.requests else 0.0


def run_of(environment) -> RunState | None:
    """The run state attached to a Locust environment, if any."""
    return getattr(environment, "license_run", None)
