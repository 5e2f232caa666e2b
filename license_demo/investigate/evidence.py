"""The fact machinery: what to look at (Settings), where (Sources), what was found (Evidence, Fact).

`FactLog` runs the queries at one instant and records each answer as a fact; the gatherers in
`investigate.facts` use it, and `investigate.gather` runs them in order. Besides the facts of
the report, each gatherer sets one typed section of the `Evidence` (investigate/gathered.py)
for the rules and actions to read.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Generic, TypeVar

from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.investigate import gathered
from license_demo.investigate.subject import Subject
from license_demo.timestamps import iso

__all__ = ["Evidence", "Fact", "FactLog", "MissingEvidence", "Settings", "Sources"]

T = TypeVar("T")


@dataclass
class Fact:
    """One number (or small table) with the query that produced it and where it came from."""

    key: str
    label: str
    value: Any
    query: str
    source: str
    unit: str = ""

    def to_dict(self) -> dict:
        """The fact as JSON-ready data."""
        return {"key": self.key, "label": self.label, "value": self.value, "unit": self.unit,
                "query": self.query, "source": self.source}


@dataclass
class Settings:
    """How far back to look: `window` for recent activity, `lookback` for steady demand (seconds)."""

    window: int = 600
    lookback: int = 8 * 3600
    hoarding_seats: int = 10
    # Seconds of the baseline (the stretch just before the window); None: as long as the window.
    # Shorter when the server was reset less than two windows ago, 0 when the window starts at the reset.
    baseline: int | None = None
    # The server's last reset (epoch seconds): no window reaches back before it.
    since: float | None = None
    rules_file: str | None = None

    @property
    def baseline_seconds(self) -> int:
        """How long the baseline is."""
        return self.window if self.baseline is None else self.baseline

    def to_dict(self) -> dict:
        """The settings as JSON-ready data."""
        return asdict(self)


@dataclass
class Sources:
    """The HTTP APIs the investigator reads."""

    server: ServerClient
    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient | None = None
    loki_url: str | None = None
    # Asks the operator which of several tools to investigate (an interactive terminal only).
    ask_tool: Callable[[list[str]], str | None] | None = None


class MissingEvidence(LookupError):
    """A rule or gatherer read a section of the evidence that its gatherer has not set."""


class Gathered(Generic[T]):
    """An Evidence section that one gatherer sets; reading it before then raises MissingEvidence,
    setting it to anything but its type raises TypeError."""

    def __init__(self, kind: type, by: str, optional: bool = False):
        """A section of type `kind`, set by the gatherer named `by` (None allowed when `optional`)."""
        self.kind, self.by, self.optional = kind, by, optional

    def __set_name__(self, owner, name: str) -> None:
        """Remember the attribute's name."""
        self.name = name

    def __get__(self, ev, owner=None) -> T:
        """The section, or MissingEvidence naming the gatherer that sets it."""
        if ev is None:
            return self  # type: ignore[return-value]
        try:
            return ev.sections[self.name]
        except KeyError:
            raise MissingEvidence(f"evidence.{self.name} ({self.kind.__name__}) was read before {self.by} "
                                  "set it: run the gatherers in the order of gather.GATHERERS") from None

    def __set__(self, ev, value: T) -> None:
        """Set the section once its type is checked."""
        if not isinstance(value, self.kind) and not (self.optional and value is None):
            raise TypeError(f"evidence.{self.name} must be a {self.kind.__name__}, not {type(value).__name__}")
        ev.sections[self.name] = value


@dataclass
class Evidence:
    """Everything gathered at one instant: facts for the report, typed sections for the rules.

    Each section is set by one gatherer (named in the `Gathered` below, documented in
    investigate/gathered.py); `sections` holds those set so far, in the order they were.
    """

    at: float
    settings: Settings
    subject: Subject
    facts: dict[str, Fact] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict, repr=False)

    server = Gathered[gathered.ServerAnswer](gathered.ServerAnswer, "health.server_facts")
    scrape = Gathered[gathered.ScrapeHealth](gathered.ScrapeHealth, "health.prometheus_facts")
    alerts = Gathered[gathered.AlertsSeen](gathered.AlertsSeen, "alerts.alert_facts")
    # The alert this investigation is about; None when no matching alert fired.
    alert = Gathered["gathered.Alert | None"](gathered.Alert, "alerts.focus_alert", optional=True)
    usage = Gathered[gathered.ToolUsage](gathered.ToolUsage, "usage.tool_facts")
    failures = Gathered[gathered.Failures](gathered.Failures, "health.failure_facts")
    focus = Gathered[gathered.ToolFocus](gathered.ToolFocus, "usage.focus_tool")
    borrowers = Gathered[gathered.Borrowers](gathered.Borrowers, "people.borrower_facts")
    demand = Gathered[gathered.Demand](gathered.Demand, "usage.demand_facts")
    holder = Gathered[gathered.Holder](gathered.Holder, "people.holder_facts")
    changes = Gathered[gathered.Changes](gathered.Changes, "changes.deployment_facts")

    @property
    def tool(self) -> str | None:
        """The tool in focus (usage.focus_tool)."""
        return self.focus.tool

    @property
    def alert_name(self) -> str | None:
        """The name of the alert in focus, None when no matching alert fired."""
        return self.alert.name if self.alert else None

    def fact(self, key: str) -> Fact | None:
        """The fact stored under `key`, if gathered."""
        return self.facts.get(key)

    def to_dict(self) -> dict:
        """The evidence as JSON-ready data (facts in the order gathered)."""
        return {"at": iso(self.at), "at_epoch": self.at, "window_seconds": self.settings.window,
                "baseline_seconds": self.settings.baseline_seconds, "lookback_seconds": self.settings.lookback,
                "since_reset": iso(self.settings.since) if self.settings.since else None,
                "subject": self.subject.to_dict(),
                "facts": [f.to_dict() for f in self.facts.values()], "notes": self.notes}

    def sections_to_dict(self) -> dict:
        """The typed sections gathered so far, JSON-ready, by name (`alert` may be None)."""
        return {name: value.to_dict() if value is not None else None for name, value in self.sections.items()}


class FactLog:
    """Runs queries at one fixed instant and records each answer as a fact."""

    def __init__(self, sources: Sources, evidence: Evidence):
        """Query `sources`, recording into `evidence`."""
        self.sources, self.ev = sources, evidence
        self.prometheus_ok = True

    def add(self, key: str, label: str, value, query: str, source: str, unit: str = "") -> Any:
        """Record one fact and return its value."""
        self.ev.facts[key] = Fact(key, label, value, query, source, unit)
        return value

    def rows(self, key: str | None, label: str, expr: str, by: tuple[str, ...], unit: str = "") -> list[dict]:
        """An instant vector as rows {label: value..., "value": float}; recorded when `key` is set."""
        if not self.prometheus_ok:
            return []
        try:
            result = self.sources.prometheus.query(expr, at=self.ev.at)
        except DemoError as exc:
            self.ev.notes.append(f"query failed: {expr} ({exc})")
            return []
        rows = [{**{name: r["metric"].get(name, "") for name in by},
                 "value": round(float(r["value"][1]), 4)} for r in result]
        rows.sort(key=lambda r: -r["value"] if r["value"] == r["value"] else 0)
        if key:
            self.add(key, label, rows, expr, "prometheus", unit)
        return rows

    def scalar(self, key: str | None, label: str, expr: str, unit: str = "",
               default: float | None = 0.0) -> float | None:
        """A one-value query (empty answer: `default`); recorded when `key` is set and Prometheus answers."""
        if not self.prometheus_ok:
            return default
        rows = self.rows(None, label, expr, ())
        value = rows[0]["value"] if rows else default
        if key:
            self.add(key, label, value, expr, "prometheus", unit)
        return value
