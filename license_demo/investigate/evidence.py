"""The fact machinery: what to look at (Settings), where (Sources), what was found (Evidence, Fact).

`FactLog` runs the queries at one instant and records each answer as a fact; the gatherers in
`investigate.facts` use it, and `investigate.gather` runs them in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.investigate.subject import Subject
from license_demo.timestamps import iso

__all__ = ["Evidence", "Fact", "FactLog", "Settings", "Sources"]


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


@dataclass
class Sources:
    """The HTTP APIs the investigator reads."""

    server: ServerClient
    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient | None = None
    loki_url: str | None = None
    # Asks the operator which of several tools to investigate (an interactive terminal only).
    ask_tool: Callable[[list[str]], str | None] | None = None


@dataclass
class Evidence:
    """Everything gathered at one instant: facts for the report, data for the rules."""

    at: float
    settings: Settings
    subject: Subject
    facts: dict[str, Fact] = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

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
