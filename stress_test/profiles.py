"""Load profiles (how many workers, how many operations, how fast) and the modes of a run."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pace:
    """Seconds an engineer thinks between operations and holds a seat in a cycle (min, max).

    `stagger`: each worker starts after a random delay of up to this many seconds, so the
    workers do not all borrow in the same instant and their cycles stay out of step.
    """

    think: tuple[float, float]
    hold: tuple[float, float]
    stagger: float = 0.0


@dataclass(frozen=True)
class Profile:
    """A named amount of load: `workers` concurrent users, each doing `ops` borrow operations."""

    name: str
    workers: int
    ops: int
    pace: Pace
    description: str


PROFILES: dict[str, Profile] = {
    "light": Profile("light", 5, 20, Pace(think=(0.5, 1.5), hold=(1.0, 3.0)),
                     "5 workers x 20 operations, relaxed pace"),
    "medium": Profile("medium", 10, 50, Pace(think=(0.2, 0.6), hold=(0.5, 2.0)),
                      "10 workers x 50 operations"),
    # A heavy worker holds a seat for 0.15-0.45 s of a ~0.65 s cycle, so about 9 of the 20
    # hold one at any moment. A borrow is overage only while every commit seat is out:
    # with 5 commit that is about half of the borrows, with 10 commit about one in six, and
    # no 30 s window comes near the 30 % threshold either way. The workers start over 2 s,
    # so the first seconds are no burst of overage either. A run lasts about 70 s.
    "heavy": Profile("heavy", 20, 100, Pace(think=(0.2, 0.5), hold=(0.15, 0.45), stagger=2.0),
                     "20 workers x 100 operations, a large build job"),
}
# A custom profile keeps the heavy pace: custom counts are for quick, scripted runs.
CUSTOM_PACE = PROFILES["heavy"].pace


@dataclass(frozen=True)
class CapacityLimits:
    """The capacity profile's stages and the bounds that end it.

    Users start at `start_users` and grow by `step_users` every `stage_seconds` up to
    `max_users`; the run stops after the first stage whose borrows' p99 passes `p99_ms` or
    whose failed requests pass `fail_ratio`.
    """

    p99_ms: float = 100.0
    fail_ratio: float = 0.01
    start_users: int = 10
    step_users: int = 10
    stage_seconds: float = 10.0
    max_users: int = 200


# Not a story profile (flag only, no menu entry): full cycles back to back, no think or hold
# time, so the server, not the pace, sets the rate.
CAPACITY = "capacity"
CAPACITY_PACE = Pace(think=(0.0, 0.0), hold=(0.0, 0.0))

MODES: dict[str, str] = {
    "full-cycle": "borrow, hold a short random time, return",
    "borrow-only": "borrow and keep the seat (a runaway build script)",
    "mixed-teams": "several teams on several tools with realistic weights, full cycles",
    "spike": "full cycles while the user count ramps up, holds, ramps down",
}
# Modes whose seats go back to the server: their leftovers are returned on stop.
RETURNING_MODES = {"full-cycle", "mixed-teams", "spike"}


def resolve_profile(name: str, workers: int | None, ops: int | None) -> Profile:
    """The profile to run: a named one, or `custom` built from --workers and --ops."""
    if name == CAPACITY:
        return Profile(CAPACITY, workers or CapacityLimits.max_users, 0, CAPACITY_PACE,
                       "users in stages, no think time, until a latency or failure bound")
    if name == "custom":
        if not workers or not ops:
            raise ValueError("the custom profile needs --workers N and --ops N (both at least 1)")
        return Profile("custom", workers, ops, CUSTOM_PACE, f"{workers} workers x {ops} operations")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)} or custom")
    base = PROFILES[name]
    if workers or ops:
        # Overriding one count of a named profile keeps its pace and becomes a custom run.
        workers, ops = workers or base.workers, ops or base.ops
        return Profile("custom", workers, ops, base.pace, f"{workers} workers x {ops} operations")
    return base
