"""The part of LogQL the dashboards and the investigator use, parsed and run over captured log lines.

Stream selector `{a="b", c=~"d|e"}`, line filter `|= "text"`, `| json`, label filters
`name = "v"`, `=~`, `!=`, `!~`, and metric wrappers `sum by (x) (count_over_time(... [r]))`.
Enough to prove each query selects the lines it means to, from fields the server writes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

MATCHER = re.compile(r'\s*(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


@dataclass
class LogQuery:
    """A parsed log query: stream matchers, then pipeline stages in order."""

    selector: list[tuple[str, str, str]]
    stages: list[tuple] = field(default_factory=list)
    by: list[str] = field(default_factory=list)

    def json_fields(self) -> set[str]:
        """Names compared after `| json` (and grouped by): they must be fields of the line."""
        return {s[1] for s in self.stages if s[0] == "label" and s[1] != "__error__"} | set(self.by)


def _unquote(text: str) -> str:
    """A LogQL double-quoted string's value."""
    return json.loads(f'"{text}"')


def _split_pipeline(text: str) -> list[str]:
    """Split on `|` outside double quotes."""
    parts, current, quoted, escaped = [], "", False, False
    for char in text:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == '"':
            quoted = not quoted
            current += char
        elif char == "|" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def parse(query: str) -> LogQuery:
    """Parse a log query, or the log query inside a `sum by (...) (count_over_time(...))`."""
    by = []
    metric = re.fullmatch(r"\s*sum by \(([\w, ]+)\) \(count_over_time\((.*) \[[^\]]+\]\)\)\s*",
                          query, re.S)
    if metric:
        by = [name.strip() for name in metric.group(1).split(",")]
        query = metric.group(2)
    match = re.fullmatch(r"\s*\{(.*?)\}(.*)", query, re.S)
    if not match:
        raise ValueError(f"no stream selector in {query!r}")
    one = r'\w+\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"'
    if not re.fullmatch(rf"\s*{one}(?:\s*,\s*{one})*\s*", match.group(1)):
        raise ValueError(f"invalid stream selector {{{match.group(1)}}}")
    selector = []
    for part in re.findall(one, match.group(1)):
        name, op, value = MATCHER.fullmatch(part).groups()
        selector.append((name, op, _unquote(value)))
    parsed = LogQuery(selector=selector, by=by)
    pipeline = _split_pipeline(match.group(2))
    if pipeline[0].strip():
        raise ValueError(f"unexpected text after the selector: {pipeline[0]!r}")
    pending_line_filter = False
    for stage in pipeline[1:]:
        stage = stage.strip()
        if pending_line_filter or stage.startswith("="):
            # `|= "text"` was split into "" and `= "text"`.
            text = re.fullmatch(r'=\s*"((?:[^"\\]|\\.)*)"', stage)
            if not text:
                raise ValueError(f"unsupported line filter {stage!r}")
            parsed.stages.append(("contains", _unquote(text.group(1))))
            pending_line_filter = False
        elif stage == "json":
            parsed.stages.append(("json",))
        elif stage == "":
            pending_line_filter = True
        else:
            label = MATCHER.fullmatch(stage)
            if not label:
                raise ValueError(f"unsupported stage {stage!r}")
            name, op, value = label.groups()
            parsed.stages.append(("label", name, op, _unquote(value)))
    return parsed


def _matches(value: str, op: str, wanted: str) -> bool:
    """A LogQL matcher (regexes are anchored, as in Loki)."""
    if op == "=":
        return value == wanted
    if op == "!=":
        return value != wanted
    found = re.fullmatch(wanted, value) is not None
    return found if op == "=~" else not found


def _json_labels(line: str) -> dict[str, str]:
    """What `| json` extracts: top-level fields as strings (booleans as true/false)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return {"__error__": "JSONParserErr"}
    out = {}
    for key, value in data.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            continue
        elif value is not None:
            out[key] = str(value)
    return out


def keep(query: LogQuery, stream: dict, line: str) -> dict | None:
    """The labels of one (stream labels, line) entry after the pipeline, or None if the query drops it."""
    if not all(_matches(stream.get(n, ""), op, v) for n, op, v in query.selector):
        return None
    labels = dict(stream)
    for stage in query.stages:
        if stage[0] == "contains":
            ok = stage[1] in line
        elif stage[0] == "json":
            labels.update({k: v for k, v in _json_labels(line).items() if k not in stream})
            ok = True
        else:
            ok = _matches(labels.get(stage[1], ""), stage[2], stage[3])
        if not ok:
            return None
    return labels


def run(query: LogQuery, entries: list[tuple[dict, str]]) -> list[dict]:
    """The label sets of the (stream labels, line) entries the query keeps."""
    return [labels for stream, line in entries if (labels := keep(query, stream, line)) is not None]
