"""What the server takes from the one source of the Prometheus rules (prometheus/rules.src.yml).

The alert names (`alertname` label values the webhook counts by name) and the thresholds the
server judges a fix with, the same numbers Prometheus alerts on. The file is required: the
Docker image ships it and sets ALERT_RULES_FILE; a server without it refuses to start.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "prometheus" / "rules.src.yml"
THRESHOLDS = ("high_overage_ratio", "borrow_failure_ratio")


@dataclass(frozen=True)
class AlertRules:
    """The alert names of the rule groups and the thresholds of the `settings` block."""

    names: frozenset[str]
    # {"high_overage_ratio": 0.3, "borrow_failure_ratio": 0.1}
    thresholds: dict[str, float]


def alert_names(document) -> frozenset[str]:
    """Every `alert:` name anywhere in a parsed rule source."""
    names, stack = set(), [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("alert"), str):
                names.add(item["alert"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return frozenset(names)


def load(path: str | Path | None) -> AlertRules:
    """The alert names and thresholds of the rule source at `path`; ValueError says what to set."""
    source = Path(path) if path else DEFAULT_PATH
    fix = "set ALERT_RULES_FILE to the project's prometheus/rules.src.yml"
    try:
        document = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the alert rules ALERT_RULES_FILE={source} ({exc}); {fix}") from exc
    settings = document.get("settings") if isinstance(document, dict) else None
    missing = [key for key in THRESHOLDS if not isinstance((settings or {}).get(key), (int, float))]
    names = alert_names(document.get("rule_groups") if isinstance(document, dict) else None)
    if missing or not names:
        what = f"no {', '.join(missing)} under settings" if missing else "no alert rules"
        raise ValueError(f"ALERT_RULES_FILE={source} has {what}; {fix}")
    return AlertRules(names=names, thresholds={key: float(settings[key]) for key in THRESHOLDS})
