"""Convert between epoch seconds and the ISO 8601 times the APIs and reports use."""
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
