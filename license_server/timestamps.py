"""The one timestamp format on the wire: RFC 3339 UTC with millisecond precision."""
from __future__ import annotations

from datetime import datetime, timezone


def iso(at: float | None) -> str | None:
    """Epoch seconds as RFC 3339 UTC with milliseconds ("2026-12-01T12:00:00.123Z"), or None."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
