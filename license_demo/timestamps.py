"""Epoch seconds and the ISO 8601 times the APIs and reports use; elapsed times as reports write them."""
from __future__ import annotations

import re
from datetime import datetime


def iso(at: float) -> str:
    """Epoch seconds as ISO 8601 UTC."""
    return datetime.utcfromtimestamp(at).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str | None) -> float | None:
    """ISO 8601 time (with Z or an offset; Prometheus's nanosecond fractions too) as epoch
    seconds; None stays None. The one parser of the times the APIs answer with."""
    if not text:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text).timestamp()


def elapsed(seconds: float | None) -> str:
    """A short human duration for reports and the deck: 42 s, 3 min 5 s ("not reached": None)."""
    if seconds is None:
        return "not reached"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
