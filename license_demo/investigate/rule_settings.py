"""The alert thresholds from prometheus/rules.src.yml and the alerts' `for` from the running Prometheus.

The recommendations size fixes against the same numbers the alerts fire on: the thresholds come
from the rules' one source, never a copied constant, and `for` from the rules Prometheus loaded
(it differs by profile: 10 s in the demo, 5 min in production).
"""
from __future__ import annotations

import re
from pathlib import Path

import requests
import yaml

RULES_SOURCE = Path(__file__).resolve().parents[2] / "prometheus" / "rules.src.yml"


def thresholds(path: Path | str | None = None) -> dict:
    """The `settings` of the rule source (high_overage_ratio, hoarding_seats, ...)."""
    source = Path(path or RULES_SOURCE)
    try:
        data = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the alert thresholds from {source}: {exc}; run from a checkout of "
                         "the project or pass --rules-file") from exc
    settings = data.get("settings")
    if not isinstance(settings, dict):
        raise ValueError(f"{source} has no `settings` mapping with the alert thresholds")
    return settings


def _rules(prometheus_url: str, kind: str) -> list[dict]:
    """The rules of one type ("alert" or "record") Prometheus loaded; [] when it cannot say."""
    try:
        groups = requests.get(prometheus_url.rstrip("/") + "/api/v1/rules", params={"type": kind},
                              timeout=10).json()["data"]["groups"]
    except (requests.RequestException, ValueError, KeyError):
        return []
    return [r for g in groups for r in g.get("rules", [])]


def rate_window_seconds(prometheus_url: str, record: str) -> float | None:
    """The range of the rate() in recording rule `record` as loaded (30 s in the demo, 5 min in production)."""
    units = {"s": 1, "m": 60, "h": 3600}
    for rule in _rules(prometheus_url, "record"):
        match = re.search(r"\[(\d+)([smh])\]", rule.get("query", "")) if rule.get("name") == record else None
        if match:
            return float(match.group(1)) * units[match.group(2)]
    return None


def alert_for_seconds(prometheus_url: str, alertname: str) -> float | None:
    """The `for` of `alertname` as loaded by Prometheus (the longest if several rules share the name)."""
    found = [float(r.get("duration", 0)) for r in _rules(prometheus_url, "alert") if r.get("name") == alertname]
    return max(found) if found else None
