"""Prometheus and Alertmanager durations (2s, 1m30s, 15d, 250ms, 1y) in seconds: the one parser."""
from __future__ import annotations

import re

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)"


def duration_seconds(text: str, default: float | None = None) -> float:
    """`text` in seconds; not a duration: `default`, or ValueError when no default is given."""
    if text and re.fullmatch(f"(?:{_PART})+", text):
        return sum(float(n) * UNITS[u] for n, u in re.findall(_PART, text))
    if default is not None:
        return default
    raise ValueError(f"{text!r} is not a Prometheus duration such as 15s, 5m or 1h30m")
