"""Run the gatherers in order, at one instant, into one Evidence."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

from license_demo.investigate.evidence import Evidence, FactLog, Settings, Sources
from license_demo.investigate.facts import alerts, changes, health, loki_lines, people, usage
from license_demo.investigate.subject import Subject


def _log_facts(col: FactLog) -> None:
    """Log lines from Loki, only when the investigator was given its URL."""
    if col.sources.loki_url:
        loki_lines.add_log_facts(col, col.sources.loki_url)


# The gatherers in the order they run; each sets one typed section of the evidence
# (investigate/gathered.py) and later ones read those of earlier ones (the alert in focus picks
# the tool, the tool picks whose borrows to count); the facts appear in reports in this order.
GATHERERS: tuple[Callable[[FactLog], None], ...] = (
    health.server_facts,
    health.reset_facts,
    health.prometheus_facts,
    alerts.alert_facts,
    alerts.focus_alert,
    usage.tool_facts,
    health.failure_facts,
    usage.focus_tool,
    people.borrower_facts,
    usage.demand_facts,
    people.holder_facts,
    changes.deployment_facts,
    alerts.alert_series_facts,
    _log_facts,
)


def gather(sources: Sources, subject: Subject, settings: Settings, at: float | None = None) -> Evidence:
    """Collect every fact the rules need, at one instant (now by default)."""
    # A copy: the window may be shortened to the server's last reset for this evidence only.
    ev = Evidence(at=at or time.time(), settings=replace(settings), subject=subject)
    col = FactLog(sources, ev)
    for gatherer in GATHERERS:
        gatherer(col)
    return ev
