"""The spike as data: stages of a cycle (baseline, ramp up, hold, ramp down) and where a run is."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """Hold `share` of the peak user count for `seconds`, reaching it within `ramp` seconds."""

    name: str
    seconds: float
    share: float
    ramp: float = 1.0


SPIKE: tuple[Stage, ...] = (
    Stage("baseline", seconds=8, share=0.25),
    Stage("ramp-up", seconds=4, share=1.0, ramp=4),
    Stage("hold", seconds=12, share=1.0),
    Stage("ramp-down", seconds=4, share=0.25, ramp=4),
)


def stage_at(stages: tuple[Stage, ...], seconds: float) -> Stage:
    """The stage running `seconds` into the run; the stages repeat as a cycle."""
    offset = seconds % sum(stage.seconds for stage in stages)
    for stage in stages:
        if offset < stage.seconds:
            return stage
        offset -= stage.seconds
    return stages[-1]


def users_at(stages: tuple[Stage, ...], peak: int, seconds: float) -> tuple[int, float]:
    """(users, spawn rate) `seconds` into the run for a spike up to `peak` users."""
    stage = stage_at(stages, seconds)
    users = max(1, math.ceil(peak * stage.share))
    lowest = max(1, math.ceil(peak * min(s.share for s in stages)))
    # Spawn (or stop) the whole swing within the stage's ramp time.
    return users, max(1.0, (peak - lowest) / stage.ramp)
