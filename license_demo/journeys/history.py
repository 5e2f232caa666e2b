"""Thirty days of realistic license usage, generated from a seed, as OpenMetrics with the server's names."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from stress_test.roster import HISTORY_TEAMS

# Teams, their size on day 0 and day 30 and words naming their tools: the roster's history view.
TEAMS = HISTORY_TEAMS
# Share of a team's engineers that hold a seat of one of their tools at the busiest hour.
PEAK_SHARE = 0.4
# UTC offset of the engineers' working day (central Europe in winter).
LOCAL_OFFSET_HOURS = 1
SESSION_MINUTES = 240
JOB = "license-server"
INSTANCE = "history"


@dataclass
class History:
    """Generated series: per tool per step, plus per user held seats, and the totals."""

    start: float
    step_seconds: int
    timestamps: list[float]
    tools: dict[str, dict]
    usage: dict[str, list[dict]] = field(default_factory=dict)
    held: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def total(self, tool: str, key: str) -> float:
        """Sum of a per-step quantity (checkouts, overage_checkouts, cost) over the month."""
        return sum(step[key] for step in self.usage[tool])


def activity(at: datetime) -> float:
    """How busy engineers are at `at` (0..1): weekdays, working hours, a lunch dip."""
    local = at + timedelta(hours=LOCAL_OFFSET_HOURS)
    if local.weekday() >= 5:
        return 0.03
    hour = local.hour + local.minute / 60
    if hour < 7 or hour >= 19:
        return 0.02
    curve = math.sin(math.pi * (hour - 7) / 12) ** 1.5
    if 12 <= hour < 13:
        curve *= 0.6
    return curve


def team_size(team: str, day: float, days: int) -> int:
    """Head count of `team` on `day`: linear growth for the hiring team."""
    first, last, _ = TEAMS[team]
    return round(first + (last - first) * min(day / max(days - 1, 1), 1.0))


def team_tools(team: str, names: list[str]) -> list[str]:
    """The catalog tools a team works with: names containing its words (the first tool if none)."""
    found = [n for word in TEAMS[team][2] for n in names if word.lower() in n.lower()]
    return list(dict.fromkeys(found)) or names[:1]


def seats_above(in_use: int, checkouts: int, commit: int) -> int:
    """New checkouts that land beyond `commit`: they take the top seats of the `in_use` held."""
    return max(0, min(checkouts, in_use - commit))


def generate(tools: list[dict], seed: int, days: int = 30, step_minutes: int = 10,
             end: datetime | None = None) -> History:
    """Simulate `days` of usage ending at `end` (default: the last midnight UTC at least 3 h ago).

    The default end only moves once a day, so the same seed gives the same series all day.
    """
    rng = random.Random(seed)
    step = step_minutes * 60
    end = end or (datetime.now(timezone.utc) - timedelta(hours=3)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    end_ts = math.floor(end.timestamp() / step) * step
    start_ts = end_ts - days * 86400
    catalog = {t["name"]: t for t in tools}
    history = History(start_ts, step, [], catalog, {name: [] for name in catalog})
    uses = {team: team_tools(team, list(catalog)) for team in TEAMS}
    users = {team: [f"{team}-{i + 1:02d}" for i in range(max(TEAMS[team][:2]))] for team in TEAMS}
    for team, members in users.items():
        for user in members:
            history.held[(user, team)] = []
    for ts in range(start_ts + step, end_ts + 1, step):
        at = datetime.fromtimestamp(ts, timezone.utc)
        day = (ts - start_ts) / 86400
        busy = activity(at)
        demand = {name: 0.0 for name in catalog}
        team_seats = {}
        for team in TEAMS:
            size = team_size(team, day, days)
            seats = 0
            for name in uses[team]:
                if name in demand:
                    want = size * PEAK_SHARE * busy * rng.uniform(0.8, 1.2)
                    demand[name] += want
                    seats += round(want)
            team_seats[team] = (size, seats)
        history.timestamps.append(float(ts))
        for name, tool in catalog.items():
            limit = tool["commit"] + tool["max_overage"]
            in_use = min(limit, max(0, round(demand[name])))
            overage = max(0, in_use - tool["commit"])
            checkouts = in_use * step_minutes / SESSION_MINUTES
            checkouts = int(checkouts) + (1 if rng.random() < checkouts % 1 else 0)
            overage_checkouts = seats_above(in_use, checkouts, tool["commit"])
            history.usage[name].append({
                "in_use": in_use, "overage": overage, "available": limit - in_use,
                "checkouts": checkouts, "overage_checkouts": overage_checkouts,
                "cost": overage_checkouts * tool["overage_cost"],
            })
        for team, (size, seats) in team_seats.items():
            for index, user in enumerate(users[team]):
                # Seats go round-robin to the engineers on the team today.
                share = seats // size + (1 if index < seats % size else 0) if index < size else 0
                history.held[(user, team)].append(share)
    return history


def _labels(**labels) -> str:
    """OpenMetrics label set with escaped values."""
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in labels.items())
    return "{" + inner + "}"


def to_openmetrics(history: History) -> str:
    """The history as an OpenMetrics text file for `promtool tsdb create-blocks-from openmetrics`."""
    lines: list[str] = []
    base = {"job": JOB, "instance": INSTANCE}
    gauges = {"licenses_in_use": "in_use", "licenses_overage": "overage",
              "licenses_available": "available"}
    for metric, key in gauges.items():
        lines.append(f"# TYPE {metric} gauge")
        for name, steps in history.usage.items():
            label = _labels(**base, tool=name)
            lines += [f"{metric}{label} {s[key]} {ts:.0f}" for ts, s in zip(history.timestamps, steps)]
    for metric, key in {"licenses_commit": "commit", "licenses_max_overage": "max_overage"}.items():
        lines.append(f"# TYPE {metric} gauge")
        for name, tool in history.tools.items():
            label = _labels(**base, tool=name)
            lines += [f"{metric}{label} {tool[key]} {ts:.0f}" for ts in history.timestamps]
    counters = {"license_borrow_success": "checkouts", "license_overage_checkouts": "overage_checkouts",
                "license_overage_cost_dollars": "cost"}
    for family, key in counters.items():
        lines.append(f"# TYPE {family} counter")
        for name, steps in history.usage.items():
            label = _labels(**base, tool=name)
            total = 0.0
            for ts, s in zip(history.timestamps, steps):
                total += s[key]
                lines.append(f"{family}_total{label} {total:g} {ts:.0f}")
    lines.append("# TYPE licenses_held_by_user gauge")
    for (user, team), values in history.held.items():
        label = _labels(**base, team=team, user=user)
        lines += [f"licenses_held_by_user{label} {v} {ts:.0f}" for ts, v in zip(history.timestamps, values)]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def buy_versus_overage(history: History, tool: str) -> dict:
    """For `tool`, the monthly cost of buying n more commit seats against paying the overage."""
    info = history.tools[tool]
    months = len(history.timestamps) * history.step_seconds / (30 * 86400)
    options = []
    for extra in range(0, info["max_overage"] + 1):
        overage_checkouts = 0
        for step in history.usage[tool]:
            overage_checkouts += seats_above(step["in_use"], step["checkouts"], info["commit"] + extra)
        overage_cost = overage_checkouts * info["overage_cost"] / months
        commit_cost = extra * info["commit_cost_monthly"]
        options.append({"extra_commit": extra, "overage_per_month": round(overage_cost, 2),
                        "extra_commit_per_month": round(commit_cost, 2),
                        "total_per_month": round(overage_cost + commit_cost, 2)})
    best = min(options, key=lambda o: (o["total_per_month"], o["extra_commit"]))
    return {"tool": tool, "options": options, "recommended": best,
            "overage_per_month_now": options[0]["overage_per_month"],
            "saving_per_month": round(options[0]["total_per_month"] - best["total_per_month"], 2)}
