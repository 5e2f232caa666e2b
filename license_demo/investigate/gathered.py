"""What the gatherers pass on to the rules and the actions: one typed section per gatherer.

Each gatherer in `investigate.facts` builds one of these and sets it on the `Evidence`
(`ev.usage = ToolUsage(...)`); the rules in `hypotheses.py` and `actions.py` read named
fields (`ev.usage.overage_window`). A misspelt field is an AttributeError, and a section read
before its gatherer ran is a `MissingEvidence` error naming that gatherer (evidence.py).
"Nothing there" is a stated value (an empty table, 0 seats, None for "not measured"), never
a missing key. Every section has `to_dict()`, JSON-ready, for reports and other clients.

Tables from Prometheus stay lists of rows, `{label: value, ..., "value": float}`, the same
rows the facts of the report show.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


class Section:
    """A gatherer's typed output; `to_dict` is JSON-ready (nested sections become dicts)."""

    def to_dict(self) -> dict:
        """The section as JSON-ready data, field by field."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class ServerAnswer(Section):
    """health.server_facts: does the license server answer, and which tools it lends.

    `catalog`: the server's tool records (`GET /api/tools`) by name; empty when it did not answer.
    """

    reachable: bool
    catalog: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class ScrapeHealth(Section):
    """health.prometheus_facts: does Prometheus answer, and does it scrape the license server.

    `up`: the lowest `up{job="license-server"}` (1 scraped, 0 failing), None when Prometheus has no
    such target or cannot be reached; `target_error`: the target's last scrape error ("" for none).
    """

    prometheus_reachable: bool
    up: float | None = None
    target_error: str = ""


@dataclass(frozen=True)
class Alert(Section):
    """One alert seen firing (now or in the window), merged from the places that report it.

    `source`: where it was first seen (prometheus, alertmanager, webhook); `active_at` (Prometheus),
    `starts_at` (Alertmanager) and `received_at` (the server's webhook record) in epoch seconds when
    known; `resolved`: it fired in the window but fires no longer.
    """

    labels: dict[str, str]
    source: str
    active_at: float | None = None
    starts_at: float | None = None
    received_at: float | None = None
    resolved: bool = False

    @property
    def name(self) -> str:
        """The alert's name (its `alertname` label)."""
        return self.labels.get("alertname", "")


@dataclass(frozen=True)
class AlertsSeen(Section):
    """alerts.alert_facts: the alerts firing now and those that fired in the window.

    Synthetic alerts (labelled synthetic="true") are left out. `firing`: most severe first;
    `fired`: every alert that fired in the window, firing now or resolved since.
    """

    firing: list[Alert] = field(default_factory=list)
    fired: list[Alert] = field(default_factory=list)

    def named(self, alertname: str, **labels: str) -> list[Alert]:
        """The alerts firing now called `alertname` whose labels include `labels`."""
        return [a for a in self.firing if a.name == alertname
                and all(a.labels.get(k) == v for k, v in labels.items())]


@dataclass(frozen=True)
class ToolSeats(Section):
    """A tool's seats now, summed over its series (licenses_in_use, _commit, _overage, _max_overage,
    _available); a tool without series has 0 of each and `available` None (unknown, not exhausted)."""

    in_use: float = 0.0
    commit: float = 0.0
    overage: float = 0.0
    max_overage: float = 0.0
    available: float | None = None


@dataclass(frozen=True)
class ToolUsage(Section):
    """usage.tool_facts: seats per tool now, and per-tool counts over the window and the baseline.

    `tools`: the tool records by name (the server's catalog, else what Prometheus exports);
    `now`: seats per tool now; the `*_window` tables: per tool over the window (only tools
    above 0); `overage_baseline`: overage checkouts in the baseline before the window ({} when
    there is no baseline). All empty when Prometheus cannot be reached.
    """

    tools: dict[str, dict] = field(default_factory=dict)
    now: dict[str, ToolSeats] = field(default_factory=dict)
    borrows_window: dict[str, float] = field(default_factory=dict)
    overage_window: dict[str, float] = field(default_factory=dict)
    overage_baseline: dict[str, float] = field(default_factory=dict)
    overage_cost_window: dict[str, float] = field(default_factory=dict)
    lease_expiries_window: dict[str, float] = field(default_factory=dict)
    config_changes_window: dict[str, float] = field(default_factory=dict)

    def seats(self, tool: str | None) -> ToolSeats:
        """The seats of `tool` now (all 0 for a tool with no series, or no tool)."""
        return self.now.get(tool or "", ToolSeats())


@dataclass(frozen=True)
class Failures(Section):
    """health.failure_facts: failed borrows by tool and reason in the window (rows tool, reason,
    value) and the failing share now by tool and reason (the recording rule, reasons other than
    exhausted). Empty without Prometheus."""

    window: list[dict] = field(default_factory=list)
    ratio_now: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class ToolFocus(Section):
    """usage.focus_tool: the tool this investigation is about (None: no tool in focus).

    `symptom_tools`: when no tool was named, the tools showing the symptom, most affected first;
    `chosen_by_operator`: the one the operator picked at the terminal among them.
    """

    tool: str | None
    symptom_tools: list[str] = field(default_factory=list)
    chosen_by_operator: str | None = None


@dataclass(frozen=True)
class TeamHold(Section):
    """Seats of the tool in focus one team holds now, and how many of them are overage."""

    seats: int = 0
    overage: int = 0


@dataclass(frozen=True)
class Borrowers(Section):
    """people.borrower_facts: who borrowed the tool in focus in the window and who holds it now.

    `by_user` (rows user, team, value) and `by_team` (rows team, value): checkouts in the window,
    most first; `top_team` made `top_team_checkouts` of `checkouts_total` (`top_team_share`);
    `teams_over_20pct`: teams with 20% or more; `held_by_team`: seats held now per team and
    `holders` (rows user, team, value) seats held now per user, most first (server records; empty
    when it cannot be reached). All empty when no tool is in focus (`tool` None).
    """

    tool: str | None = None
    by_user: list[dict] = field(default_factory=list)
    by_team: list[dict] = field(default_factory=list)
    top_team: str | None = None
    top_team_share: float = 0.0
    top_team_checkouts: float = 0.0
    checkouts_total: float = 0.0
    teams_over_20pct: int = 0
    held_by_team: dict[str, TeamHold] = field(default_factory=dict)
    holders: list[dict] = field(default_factory=list)

    @property
    def users(self) -> set[str]:
        """The users who borrowed the tool in focus in the window."""
        return {r["user"] for r in self.by_user if r.get("user")}


@dataclass(frozen=True)
class Demand(Section):
    """usage.demand_facts: how the tool in focus was used, what raise-commit is sized from.

    Over the lookback: `coverage_seconds` with data, `busy_seconds` with seats in use, and the
    share of the busy time above commit (`above_commit_fraction`). Over the window, raw scrapes:
    `samples` (seats in use), `borrows` (checkouts between consecutive samples), `step_seconds`
    (their median spacing). `overage_threshold` (the rule source), `alert_for_seconds` and
    `rate_window_seconds` (as Prometheus loaded HighOverageRate and its rate rule) and the live
    prices are None when unknown. All empty (`tool` None) without a tool in focus or Prometheus.
    """

    tool: str | None = None
    coverage_seconds: float = 0
    busy_seconds: float = 0
    above_commit_fraction: float = 0.0
    samples: list[float] = field(default_factory=list)
    borrows: list[float] = field(default_factory=list)
    step_seconds: float = 5.0
    overage_threshold: float | None = None
    alert_for_seconds: float | None = None
    rate_window_seconds: float | None = None
    commit_cost_monthly: float | None = None
    overage_cost: float | None = None


@dataclass(frozen=True)
class Holder(Section):
    """people.holder_facts: who holds the most seats, and the one user the hoarding rule weighs.

    `top`: rows user, team, value: the top holders, of the tool in focus when there is one, else of
    every tool; `user`: the user weighed (None: nobody), `why`: how that user was chosen (named in
    the question, labelled on the alert, the top holder of the tool in focus, the top holder of
    every tool). Of `user`: `seats` held now on every tool, their `share` of all seats in use,
    `checkout_share` of all checkouts in the window, the `tools` and `borrow_ids` of those seats
    (server records), and `team`.
    """

    top: list[dict] = field(default_factory=list)
    seats_in_use_total: float = 0.0
    seats_available_total: float | None = None
    user: str | None = None
    why: str = ""
    team: str | None = None
    seats: float = 0.0
    share: float = 0.0
    checkout_share: float = 0.0
    tools: list[str] = field(default_factory=list)
    borrow_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VersionChange(Section):
    """The last version change: `action` deploy or rollback, to `version` (`commit`) from `previous`;
    `at` epoch seconds, None when only the build info shows two versions in the window."""

    action: str
    version: str | None
    commit: str | None = None
    previous: str | None = None
    at: float | None = None


@dataclass(frozen=True)
class Changes(Section):
    """changes.deployment_facts: versions in the window, and the last change if it falls in it.

    `versions_window` and `version_now`: rows version, commit; `current`: the server's current
    deployment record. With a `change` dated in the window: failed borrows (not for lack of seats)
    of the tool in focus after it and in as long before, and successful borrows after it.
    """

    versions_window: list[dict] = field(default_factory=list)
    version_now: list[dict] = field(default_factory=list)
    current: dict | None = None
    change: VersionChange | None = None
    failures_after: float = 0.0
    failures_before: float = 0.0
    borrows_after: float = 0.0
