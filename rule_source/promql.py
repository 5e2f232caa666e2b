"""PromQL pieces: string literals for label matchers (also LogQL), counter growth, durations.

Shared by the rule source's queries, the investigator and the journeys."""
from __future__ import annotations

import json


def quoted(value: str) -> str:
    """`value` as a double-quoted PromQL (or LogQL) string literal, for a label matcher.

    Both read Go string escapes, of which JSON's are a subset: a `"` or `\\` in a tool or
    user name is matched as written instead of ending the string or breaking the query.
    """
    return json.dumps(value, ensure_ascii=False)


def grew(metric: str, by: str, span: float, offset: float = 0) -> str:
    """PromQL for how much a counter grew over `span` seconds ending `offset` seconds ago.

    increase() never sees the first value of a series born inside its range (a tool's or a
    user's first borrow creates it), so this subtracts the sums at both ends and counts a
    series missing at the start from 0; a counter reset (server restart) clamps to 0.
    """
    agg = f"sum by ({by}) " if by else "sum "
    end = f" offset {int(offset)}s" if offset else ""
    start = f" offset {int(offset + span)}s"
    return f"clamp_min({agg}({metric}{end}) - ({agg}({metric}{start}) or {agg}({metric}{end}) * 0), 0)"


def duration(seconds: float) -> str:
    """A PromQL duration in whole seconds."""
    return f"{max(int(seconds), 1)}s"
