"""The one timestamp format on the wire: RFC 3339 UTC with millisecond precision; and the one
parser of the times clients send (ISO 8601 with Z or an offset)."""
from __future__ import annotations

from datetime import datetime, timezone


def iso(at: float | None) -> str | None:
    """Epoch seconds as RFC 3339 UTC with milliseconds ("2026-12-01T12:00:00.123Z"), or None."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(text) -> float:
    """An ISO 8601 time ("...Z" or with an offset) as epoch seconds; ValueError when it is not one."""
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
