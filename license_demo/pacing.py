"""Pacing: the guide's planned minutes per part against the time each part really took.

A part runs from its act's start to the next act's start (the talking in guided mode
included), the last one to its act's end. Guided mode prints, at each part, its plan and
the time used so far, and warns once a part passes its planned minutes.
"""
from __future__ import annotations

import threading
import time

# The demo guide's "Practice Timing", one entry per act of the journey (about 14 minutes).
PLANNED_MINUTES = {"overage-crisis": (2, 3, 2, 3, 2, 2)}


def planned(journey: str, count: int) -> list[float | None]:
    """Planned minutes per act of `journey` (None where the guide gives none)."""
    plan = list(PLANNED_MINUTES.get(journey, ()))[:count]
    return plan + [None] * (count - len(plan))


def clock_text(seconds: float | None) -> str:
    """Seconds as m:ss (or a dash)."""
    if seconds is None:
        return "—"
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def part_seconds(acts: list[dict]) -> list[float]:
    """Seconds each part took, from the acts recorded in a timeline."""
    starts = [act["started"] for act in acts]
    ends = starts[1:] + [acts[-1]["ended"]] if acts else []
    return [end - start for start, end in zip(starts, ends)]


def rows(journey: str, acts: list[dict]) -> list[dict]:
    """Per part: title, planned and actual seconds, and how far over the plan it ran."""
    plan = planned(journey, len(acts))
    result = []
    for act, minutes, actual in zip(acts, plan, part_seconds(acts)):
        planned_seconds = minutes * 60 if minutes is not None else None
        result.append({"act": act["act"], "title": act["title"], "planned_seconds": planned_seconds,
                       "actual_seconds": round(actual, 1),
                       "over_seconds": round(actual - planned_seconds, 1) if planned_seconds is not None else None})
    return result


def markdown(journey: str, acts: list[dict]) -> list[str]:
    """The pacing table for the report (empty without acts)."""
    table = rows(journey, acts)
    if not table:
        return []
    lines = ["", "## Pacing", "", "| part | planned | actual | difference |", "|---|---|---|---|"]
    for number, row in enumerate(table, start=1):
        over = row["over_seconds"]
        diff = "—" if over is None else (f"+{clock_text(over)} long" if over > 0 else f"{clock_text(-over)} to spare")
        lines.append(f"| {number}. {row['title']} | {clock_text(row['planned_seconds'])} | "
                     f"{clock_text(row['actual_seconds'])} | {diff} |")
    total_plan = sum(r["planned_seconds"] for r in table if r["planned_seconds"] is not None)
    total = sum(r["actual_seconds"] for r in table)
    lines.append(f"| total | {clock_text(total_plan) if total_plan else '—'} | {clock_text(total)} | |")
    return lines


class PacingObserver:
    """Guided mode: print each part's plan and time used, warn when a part runs long."""

    def __init__(self, journey: str, count: int, out=print, clock=time.time,
                 plan: list[float | None] | None = None):
        """Pace the `count` acts of `journey` (minutes from the guide unless `plan` is given)."""
        self.plan = list(plan) if plan is not None else planned(journey, count)
        self.out, self.clock = out, clock
        self.started_at: float | None = None
        self.part_started: float | None = None
        self.timer: threading.Timer | None = None

    def on_act_start(self, ctx, number: int, act) -> None:
        """Close the previous part (its time against the plan), open this one."""
        now = self.clock()
        self._cancel()
        if self.part_started is not None:
            self.out(self._verdict(number - 1, now - self.part_started))
        self.started_at = self.started_at or now
        self.part_started = now
        minutes = self.plan[number - 1]
        total_plan = sum(m for m in self.plan if m is not None)
        used = now - self.started_at
        if minutes is None:
            self.out(f"  time: {clock_text(used)} into the demo")
            return
        planned_before = sum(m for m in self.plan[:number - 1] if m is not None) * 60
        drift = used - planned_before
        self.out(f"  time: part {number} planned {minutes:g} min; {clock_text(used)} into the demo of "
                 f"{total_plan:g} planned" + (f" ({clock_text(drift)} behind)" if drift > 30 else ""))
        self.timer = threading.Timer(minutes * 60, self._warn, args=(number, act.title, minutes))
        self.timer.daemon = True
        self.timer.start()

    def on_act_end(self, ctx, number: int, act) -> None:
        """The last part ends with its act."""
        if number == len(self.plan) and self.part_started is not None:
            self._cancel()
            self.out(self._verdict(number, self.clock() - self.part_started))

    def _verdict(self, number: int, seconds: float) -> str:
        """One line: how long part `number` took against its plan."""
        minutes = self.plan[number - 1]
        if minutes is None:
            return f"  time: part {number} took {clock_text(seconds)}"
        over = seconds - minutes * 60
        state = f"ran long by {clock_text(over)}" if over > 0 else f"{clock_text(-over)} to spare"
        return f"  time: part {number} took {clock_text(seconds)} of {minutes:g} min planned: {state}"

    def _warn(self, number: int, title: str, minutes: float) -> None:
        """Said once when the current part passes its planned minutes."""
        self.out(f"\n  time: part {number} ({title}) is past its {minutes:g} planned minutes: move on")

    def _cancel(self) -> None:
        """Stop the running part's warning timer."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def close(self) -> None:
        """Stop any pending warning."""
        self._cancel()
