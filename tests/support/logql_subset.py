"""The LogQL the project sends, parsed and evaluated the way Loki 3.4 does, over captured log lines.

No maintained LogQL parser exists on PyPI, so this is a small one, held to real Loki by
tests/loki_recordings (tests/test_loki_double.py replays all 61 recorded requests).

Log queries: a stream selector (`=`, `!=`, `=~`, `!~`), line filters (`|=`, `!=`, `|~`, `!~`,
unanchored), `| json` (every field, or `| json a="b", ...`), label filters on strings and
numbers (`= != =~ !~ > >= < <= ==`, joined by `and`, `,` or `or`), `| line_format "..."`
and `| unwrap`. Metric queries: `count_over_time`, `rate`, `sum/avg/min/max_over_time` (with
unwrap) over `[range]`, aggregated by `sum`, `min`, `max`, `avg`, `count`, `topk`, `bottomk`
with `by`/`without`.

What Loki adds and the answers show: `detected_level` on every entry (the `level` stream label,
else `unknown`); `| json` flattens nested objects with `_`, keeps numbers as their JSON text,
writes booleans as true/false and renames a field that is also a stream label to
`<name>_extracted`; a line that is not JSON gets `__error__="JSONParserErr"`; label regexes are
anchored, line-filter regexes are not.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

NS = 10**9
DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": NS, "m": 60 * NS,
                  "h": 3600 * NS, "d": 86400 * NS, "w": 7 * 86400 * NS, "y": 365 * 86400 * NS}
# What Loki's JSON parser (buger/jsonparser) reports for a line that is not a JSON object.
JSON_ERROR_DETAILS = "Value looks like object, but can't find closing '}' symbol"
RANGE_FUNCTIONS = {"count_over_time", "rate", "sum_over_time", "avg_over_time", "max_over_time",
                   "min_over_time", "first_over_time", "last_over_time"}
UNWRAPPED = RANGE_FUNCTIONS - {"count_over_time", "rate"}
VECTOR_FUNCTIONS = {"sum", "avg", "min", "max", "count", "topk", "bottomk"}

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*" | `[^`]*`)
  | (?P<duration>\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y)(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y))*)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<op>\|=|\|~|!=|!~|=~|==|>=|<=|=|>|<|\||\{|\}|\(|\)|\[|\]|,)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.X)


class LogQLError(ValueError):
    """A query Loki refuses with 400; the message follows Loki's wording."""


@dataclass
class LogQuery:
    """A log query: stream matchers, then pipeline stages in order."""

    selector: list[tuple[str, str, str]]
    stages: list[tuple] = field(default_factory=list)

    def json_fields(self) -> set[str]:
        """Names compared after `| json` (they must be fields of the line)."""
        names = set()
        for stage in self.stages:
            if stage[0] == "filter":
                names |= {f[0] for f in _leaves(stage[1]) if not f[0].startswith("__")}
            elif stage[0] == "unwrap":
                names.add(stage[1])
        return names


@dataclass
class RangeAggregation:
    """`fn(log query [range])`."""

    function: str
    query: LogQuery
    range_ns: int


@dataclass
class VectorAggregation:
    """`op [by|without (labels)] ([k,] inner)`."""

    op: str
    inner: object
    grouping: tuple[str, list[str]] | None = None
    param: int | None = None


# ---------------------------------------------------------------- parsing

def _unquote(token: str) -> str:
    """The value of a double-quoted (Go escapes) or backquoted LogQL string."""
    if token.startswith("`"):
        return token[1:-1]
    try:
        return json.loads(token)
    except ValueError:
        raise LogQLError(f"parse error : invalid string {token}") from None


def duration_ns(text: str) -> int:
    """A Prometheus/Loki duration such as 71s, 1m30s or 250ms in nanoseconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f'not a valid duration string: "{text}"')
    return int(sum(float(n) * DURATION_UNITS[u] for n, u in parts))


class _Parser:
    """Recursive descent over the tokens of one query."""

    def __init__(self, text: str):
        self.text, self.tokens, pos = text, [], 0
        while pos < len(text):
            match = TOKEN.match(text, pos)
            if not match:
                self.fail_at(pos, f"unexpected character {text[pos]!r}")
            if match.lastgroup != "ws":
                self.tokens.append((match.lastgroup, match.group(), pos))
            pos = match.end()
        self.i = 0

    def fail_at(self, pos: int, what: str):
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        raise LogQLError(f"parse error at line {line}, col {col}: syntax error: {what}")

    def peek(self, offset: int = 0):
        index = self.i + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "", len(self.text))

    def fail(self, expecting: str = ""):
        kind, value, pos = self.peek()
        shown = {"end": "$end", "ident": "IDENTIFIER", "string": "STRING", "number": "NUMBER",
                 "duration": "DURATION"}.get(kind, value)
        self.fail_at(pos, f"unexpected {shown}" + (f", expecting {expecting}" if expecting else ""))

    def take(self, value: str | None = None, kind: str | None = None):
        token = self.peek()
        if (value is not None and token[1] != value) or (kind is not None and token[0] != kind):
            self.fail(value or kind)
        self.i += 1
        return token

    def at(self, value: str) -> bool:
        return self.peek()[1] == value and self.peek()[0] != "string"

    # expressions
    def query(self):
        node = self.expr()
        if self.peek()[0] != "end":
            self.fail()
        return node

    def expr(self):
        kind, value, _ = self.peek()
        if kind == "op" and value == "{":
            return self.log_query()
        if kind == "op" and value == "(":
            self.take("(")
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "ident" and value in RANGE_FUNCTIONS:
            return self.range_aggregation()
        if kind == "ident" and value in VECTOR_FUNCTIONS:
            return self.vector_aggregation()
        self.fail()

    def grouping(self):
        mode = self.take(kind="ident")[1]
        self.take("(")
        names = []
        while not self.at(")"):
            names.append(self.take(kind="ident")[1])
            if not self.at(")"):
                self.take(",")
        self.take(")")
        return mode, names

    def vector_aggregation(self):
        op = self.take(kind="ident")[1]
        grouping = self.grouping() if self.peek()[1] in ("by", "without") else None
        self.take("(")
        param = None
        if op in ("topk", "bottomk"):
            param = int(self.take(kind="number")[1])
            self.take(",")
        inner = self.expr()
        if isinstance(inner, LogQuery):
            raise LogQLError("parse error : a vector aggregation needs a metric query")
        self.take(")")
        if grouping is None and self.peek()[1] in ("by", "without"):
            grouping = self.grouping()
        return VectorAggregation(op, inner, grouping, param)

    def range_aggregation(self):
        function = self.take(kind="ident")[1]
        self.take("(")
        if self.at("("):
            self.take("(")
            query = self.log_query()
            self.take(")")
        else:
            query = self.log_query()
        self.take("[")
        range_ns = duration_ns(self.take(kind="duration")[1])
        self.take("]")
        self.take(")")
        unwrapped = any(s[0] == "unwrap" for s in query.stages)
        if (function in UNWRAPPED) != unwrapped:
            raise LogQLError(f"parse error : invalid aggregation {function} "
                             f"{'without' if function in UNWRAPPED else 'with'} unwrap")
        return RangeAggregation(function, query, range_ns)

    def log_query(self) -> LogQuery:
        self.take("{")
        selector = []
        while True:
            name = self.take(kind="ident")[1]
            kind, op, pos = self.peek()
            if op not in ("=", "!=", "=~", "!~"):
                self.fail("=, !=, =~ or !~")
            self.i += 1
            value = _unquote(self.take(kind="string")[1])
            if op in ("=~", "!~"):
                _regex(value)
            selector.append((name, op, value))
            if self.at("}"):
                break
            if not self.at(","):
                self.fail("} or ,")
            self.take(",")
        self.take("}")
        query = LogQuery(selector=selector)
        while True:
            kind, value, _ = self.peek()
            if kind == "op" and value in ("|=", "!=", "|~", "!~"):
                self.i += 1
                needle = _unquote(self.take(kind="string")[1])
                if value in ("|~", "!~"):
                    _regex(needle)
                query.stages.append(("line", value, needle))
            elif kind == "op" and value == "|":
                self.i += 1
                query.stages.append(self.stage())
            else:
                return query

    def stage(self):
        kind, value, _ = self.peek()
        if kind == "ident" and value == "json":
            self.i += 1
            return ("json", self.json_params())
        if kind == "ident" and value == "line_format":
            self.i += 1
            return ("line_format", _unquote(self.take(kind="string")[1]))
        if kind == "ident" and value == "unwrap":
            self.i += 1
            return ("unwrap", self.take(kind="ident")[1])
        if kind == "ident":
            return ("filter", self.label_filter_or())
        self.fail()

    def json_params(self):
        params = []
        while self.peek()[0] == "ident" and self.peek(1)[1] == "=":
            name = self.take(kind="ident")[1]
            self.take("=")
            params.append((name, _unquote(self.take(kind="string")[1])))
            if not self.at(","):
                break
            self.take(",")
        return params

    def label_filter_or(self):
        node = self.label_filter_and()
        while self.at("or"):
            self.take("or")
            node = ("or", node, self.label_filter_and())
        return node

    def label_filter_and(self):
        node = self.label_filter()
        while self.at("and") or (self.at(",") and self.peek(1)[0] == "ident"):
            self.i += 1
            node = ("and", node, self.label_filter())
        return node

    def label_filter(self):
        if self.at("("):
            self.take("(")
            node = self.label_filter_or()
            self.take(")")
            return node
        name = self.take(kind="ident")[1]
        kind, op, _ = self.peek()
        if op not in ("=", "!=", "=~", "!~", ">", ">=", "<", "<=", "=="):
            self.fail()
        self.i += 1
        kind, value, _ = self.peek()
        if kind == "string" and op in ("=", "!=", "=~", "!~"):
            self.i += 1
            text = _unquote(value)
            if op in ("=~", "!~"):
                _regex(text)
            return (name, op, text)
        if kind in ("number", "duration") and op != "=~" and op != "!~":
            self.i += 1
            number = float(value) if kind == "number" else duration_ns(value) / NS
            return (name, "==" if op == "=" else op, number)
        self.fail()


def _regex(pattern: str) -> re.Pattern:
    """Compile a RE2-style pattern (the subset the project uses is Python-compatible)."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise LogQLError(f"parse error : error parsing regexp: {exc}") from None


def _leaves(node):
    """The (name, op, value) comparisons of a label filter tree."""
    if node[0] in ("and", "or"):
        return _leaves(node[1]) + _leaves(node[2])
    return [node]


def parse(text: str):
    """Parse a LogQL query into a LogQuery, RangeAggregation or VectorAggregation."""
    if not text.strip():
        raise LogQLError("parse error : syntax error: unexpected $end")
    return _Parser(text).query()


def log_queries(node) -> list[LogQuery]:
    """Every log query inside a parsed query."""
    if isinstance(node, LogQuery):
        return [node]
    if isinstance(node, RangeAggregation):
        return [node.query]
    return log_queries(node.inner)


# ---------------------------------------------------------------- evaluation

def _match(value: str, op: str, wanted: str) -> bool:
    """A string matcher; regexes anchored as in Loki's label matchers."""
    if op == "=":
        return value == wanted
    if op == "!=":
        return value != wanted
    found = re.fullmatch(wanted, value, re.S) is not None
    return found if op == "=~" else not found


def _flatten(prefix: str, data: dict, out: dict) -> None:
    """`| json`: nested objects become `parent_child`; arrays and nulls are skipped."""
    for key, value in data.items():
        name = re.sub(r"[^A-Za-z0-9_]", "_", f"{prefix}{key}")
        if isinstance(value, dict):
            _flatten(f"{name}_", value, out)
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value is None or isinstance(value, list):
            continue
        else:
            out[name] = value


def _json_fields(line: str) -> dict | None:
    """Every field of a JSON line as Loki's json stage writes it; None if not a JSON object."""
    try:
        # Numbers keep their JSON text: parse them as strings.
        data = json.loads(line, parse_float=str, parse_int=str)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    out: dict = {}
    _flatten("", data, out)
    return out


def _path(data, path: str):
    """A json stage expression: `field`, `a.b` or `a["b"]`."""
    for part in re.findall(r'[^.\[\]"]+', path):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def detected_level(stream: dict) -> str:
    """Loki's detected_level: the entry's `level` label, else `unknown`."""
    return stream.get("level") or "unknown"


def _filter(node, labels: dict) -> bool:
    """Evaluate a label filter tree; numeric comparisons on a missing label drop the line."""
    if node[0] == "and":
        return _filter(node[1], labels) and _filter(node[2], labels)
    if node[0] == "or":
        return _filter(node[1], labels) or _filter(node[2], labels)
    name, op, wanted = node
    if isinstance(wanted, str):
        return _match(labels.get(name, ""), op, wanted)
    if name not in labels:
        return False
    try:
        value = float(labels[name])
    except ValueError:
        labels["__error__"] = "LabelFilterErr"
        return True
    return {"==": value == wanted, "!=": value != wanted, ">": value > wanted,
            ">=": value >= wanted, "<": value < wanted, "<=": value <= wanted}[op]


def _format_line(template: str, labels: dict) -> str:
    """`| line_format`: `{{.name}}` (or `{{ .name }}`) replaced by the label's value."""
    return re.sub(r"\{\{-?\s*\.(\w+)\s*-?\}\}", lambda m: labels.get(m.group(1), ""), template)


def process(query: LogQuery, stream: dict, line: str) -> tuple[dict, str, float | None] | None:
    """(labels, line, unwrapped value) of one entry after the pipeline, or None if dropped."""
    if not all(_match(stream.get(n, ""), op, v) for n, op, v in query.selector):
        return None
    labels = dict(stream)
    labels["detected_level"] = detected_level(stream)
    value = None
    for stage in query.stages:
        kind = stage[0]
        if kind == "line":
            _, op, needle = stage
            found = needle in line if op in ("|=", "!=") else re.search(needle, line) is not None
            if found != (op in ("|=", "|~")):
                return None
        elif kind == "json":
            fields = _json_fields(line)
            if fields is None:
                labels["__error__"] = "JSONParserErr"
                labels["__error_details__"] = JSON_ERROR_DETAILS
                continue
            if stage[1]:
                data = json.loads(line, parse_float=str, parse_int=str)
                chosen = {}
                for name, path in stage[1]:
                    found = _path(data, path)
                    if found is not None and not isinstance(found, (dict, list)):
                        chosen[name] = ("true" if found else "false") if isinstance(found, bool) \
                            else found
                fields = chosen
            for name, text in fields.items():
                labels[f"{name}_extracted" if name in stream else name] = str(text)
        elif kind == "filter":
            if not _filter(stage[1], labels):
                return None
        elif kind == "line_format":
            line = _format_line(stage[1], labels)
        elif kind == "unwrap":
            try:
                value = float(labels.pop(stage[1]))
            except (KeyError, ValueError):
                labels["__error__"] = "SampleExtractionErr"
    return labels, line, value


def keep(query: LogQuery, stream: dict, line: str) -> dict | None:
    """The labels of one entry after the pipeline, or None if the query drops it."""
    done = process(query, stream, line)
    return None if done is None else done[0]


def run(query: LogQuery, entries: list[tuple[dict, str]]) -> list[dict]:
    """The label sets of the (stream labels, line) entries the query keeps."""
    return [labels for stream, line in entries if (labels := keep(query, stream, line)) is not None]


def label_key(labels: dict) -> str:
    """A label set as Loki prints it: `{a="1", b="2"}`, names sorted."""
    return "{" + ", ".join(f"{name}={json.dumps(labels[name])}" for name in sorted(labels)) + "}"


def _pipeline_error(series: dict) -> None:
    """Loki refuses a metric query whose pipeline left an __error__ on a series."""
    for labels in series.values():
        if "__error__" in labels:
            raise LogQLError(
                f"pipeline error: '{labels['__error__']}' for series: '{label_key(labels)}'.\n"
                f"Use a label filter to intentionally skip this error. "
                f"(e.g | __error__!=\"{labels['__error__']}\").")


def _range_vector(node: RangeAggregation, entries, at_ns: int) -> dict[str, tuple[dict, float]]:
    """{series key: (labels, value)} of `fn(query [range])` evaluated at `at_ns`."""
    window_start = at_ns - node.range_ns
    samples: dict[str, tuple[dict, list[float]]] = {}
    for entry in entries:
        if not window_start < entry.ts <= at_ns:
            continue
        done = process(node.query, entry.stream, entry.line)
        if done is None:
            continue
        labels, _, value = done
        key = label_key(labels)
        samples.setdefault(key, (labels, []))[1].append(1.0 if value is None else value)
    _pipeline_error({k: v[0] for k, v in samples.items()})
    seconds = node.range_ns / NS
    reduce = {"count_over_time": len, "rate": lambda v: len(v) / seconds,
              "sum_over_time": math.fsum, "avg_over_time": lambda v: math.fsum(v) / len(v), "max_over_time": max,
              "min_over_time": min, "first_over_time": lambda v: v[0],
              "last_over_time": lambda v: v[-1]}[node.function]
    return {key: (labels, float(reduce(values))) for key, (labels, values) in samples.items()}


def _group(labels: dict, grouping) -> dict:
    """The labels an aggregation keeps for one series."""
    if grouping is None:
        return {}
    mode, names = grouping
    if mode == "by":
        return {n: labels[n] for n in names if n in labels}
    return {n: v for n, v in labels.items() if n not in names}


def evaluate(node, entries, at_ns: int) -> dict[str, tuple[dict, float]]:
    """An instant vector {series key: (labels, value)} of a metric query at `at_ns`."""
    if isinstance(node, RangeAggregation):
        return _range_vector(node, entries, at_ns)
    inner = evaluate(node.inner, entries, at_ns)
    groups: dict[str, tuple[dict, list]] = {}
    for labels, value in inner.values():
        kept = _group(labels, node.grouping)
        groups.setdefault(label_key(kept), (kept, []))[1].append((labels, value))
    out = {}
    for key, (kept, members) in groups.items():
        values = [v for _, v in members]
        if node.op in ("topk", "bottomk"):
            ranked = sorted(members, key=lambda m: m[1], reverse=node.op == "topk")
            for labels, value in ranked[:node.param]:
                out[label_key(labels)] = (labels, value)
            continue
        # Compensated sums: Loki's answers do not depend on the order series are added in.
        result = {"sum": math.fsum, "min": min, "max": max, "count": len,
                  "avg": lambda v: math.fsum(v) / len(v)}[node.op](values)
        out[key] = (kept, float(result))
    return out


def format_number(value: float) -> str:
    """A sample value as Loki writes it (Go's strconv 'f' format, shortest exact)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:
        from decimal import Decimal
        text = format(Decimal(text), "f")
    return text


def format_time(ns: int):
    """A metric sample's time as Loki writes it: seconds, with milliseconds when not whole."""
    ms = ns // 10**6
    return ms // 1000 if ms % 1000 == 0 else ms / 1000
