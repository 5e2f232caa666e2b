"""Words for figures: durations as durations, plurals that agree, shares that say of what."""
from __future__ import annotations


def duration(seconds: float | None) -> str:
    """Seconds as a reader says them: '45 s', '110 s', '4 min', '1 h 30 min', '8 h'."""
    if seconds is None:
        return "unknown"
    seconds = max(int(round(seconds)), 0)
    if seconds < 120:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def plural(count: float, one: str, many: str | None = None) -> str:
    """'1 seat', '3 seats', '1.5 seats': the noun agreeing with the number."""
    number = f"{count:,.0f}" if float(count).is_integer() else f"{count:,.1f}"
    return f"{number} {one if count == 1 else (many or one + 's')}"


def ordinal(n: float) -> str:
    """95 -> '95th', 1 -> '1st', 22 -> '22nd', 98.3 -> '98.3th'."""
    if not float(n).is_integer():
        return f"{n:.1f}th"
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
