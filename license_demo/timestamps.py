"""Epoch seconds and the ISO 8601 times the APIs and reports use; elapsed times as reports write them."""
from __future__ import annotations

from datetime import datetime


def iso(at: float) -> str:
    """Epoch seconds as ISO 8601 UTC."""
    return datetime.utcfromtimestamp(at).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str | None) -> float | None:
    """ISO 8601 time (with Z or an offset) as epoch seconds; None stays None."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def elapsed(seconds: float | None) -> str:
    """A short human duration for reports and the deck: 42 s, 3 min 5 s ("not reached": None)."""
    if seconds is None:
        return "not reached"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"
