"""Small, bounded tool answers: a one-line summary and JSON content, cut to size with the cut stated."""
from __future__ import annotations

import json

from mcp.types import CallToolResult, TextContent

# The most characters of JSON one answer carries (docs/agents.md states it).
MAX_ANSWER_CHARS = 12_000
# First pass: lists and strings are cut to these; halved until the answer fits.
MAX_ITEMS, MAX_TEXT = 25, 600


def _cut(value, items: int, text: int, path: str, cuts: list[str]):
    """`value` with lists longer than `items` and strings longer than `text` shortened; each cut noted."""
    if isinstance(value, dict):
        return {k: _cut(v, items, text, f"{path}.{k}" if path else str(k), cuts) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > items:
            cuts.append(f"{path or 'answer'}: {items} of {len(value)} items")
            value = value[:items]
        return [_cut(v, items, text, f"{path}[{i}]", cuts) for i, v in enumerate(value)]
    if isinstance(value, str) and len(value) > text:
        cuts.append(f"{path or 'answer'}: {text} of {len(value)} characters")
        return value[:text] + "…"
    return value


def bounded(payload: dict, limit: int = MAX_ANSWER_CHARS) -> dict:
    """`payload` cut until its JSON fits in `limit` characters; `truncated` lists what was cut."""
    items, text = MAX_ITEMS, MAX_TEXT
    while True:
        cuts: list[str] = []
        out = _cut(payload, items, text, "", cuts)
        if cuts:
            out["truncated"] = cuts[:20]
        if len(json.dumps(out, default=str)) <= limit:
            return out
        if items == 1 and text <= 40:
            return {"summary": str(payload.get("summary", ""))[:200],
                    "truncated": [f"the whole answer: more than {limit} characters; ask for less"]}
        items, text = max(1, items // 2), max(40, text // 2)


def answer(summary: str, payload: dict) -> CallToolResult:
    """The tool result: the one-line summary first, then the bounded JSON (also as structured content)."""
    line = " ".join(summary.split())[:300]
    data = bounded({"summary": line, **payload})
    return CallToolResult(content=[TextContent(type="text", text=line),
                                   TextContent(type="text", text=json.dumps(data, default=str))],
                          structured_content=data)
