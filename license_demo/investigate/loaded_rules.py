"""The rules as the running Prometheus loaded them: an alert's `for` and a recording rule's rate window.

They differ by profile (`for` is 4 s in the demo, 5 min in production), so the investigator asks
Prometheus rather than the rule source; the thresholds come from `rule_source`.
"""
from __future__ import annotations

import re

from license_demo.clients import DemoError, PrometheusClient
from rule_source.durations import duration_seconds


def _rules(prometheus: PrometheusClient, kind: str) -> list[dict]:
    """The rules of one type ("alert" or "record") Prometheus loaded; [] when it cannot say."""
    try:
        return prometheus.rules(kind)
    except (DemoError, ValueError, KeyError):
        return []


def rate_window_seconds(prometheus: PrometheusClient, record: str) -> float | None:
    """The range of the rate() in recording rule `record` as loaded (30 s in the demo, 5 min in production)."""
    for rule in _rules(prometheus, "record"):
        match = re.search(r"\[(\d+[smh])\]", rule.get("query", "")) if rule.get("name") == record else None
        if match:
            return duration_seconds(match.group(1))
    return None


def alert_for_seconds(prometheus: PrometheusClient, alertname: str) -> float | None:
    """The `for` of `alertname` as loaded by Prometheus (the longest if several rules share the name)."""
    found = [float(r.get("duration", 0)) for r in _rules(prometheus, "alert") if r.get("name") == alertname]
    return max(found) if found else None
