"""A loopback stand-in for Loki's query API, over the log lines a license server really wrote.

`GET /loki/api/v1/query_range` and `GET /loki/api/v1/query` as Loki 3.4 answers them
(https://grafana.com/docs/loki/latest/reference/loki-http-api/), held to recorded answers of a
real Loki (tests/loki_recordings, replayed by tests/test_loki_double.py). LogQL is evaluated by
logql_subset.py: log queries give `streams` (one stream per label set after the pipeline, each
stream's values in the query's direction, `limit` counted over all streams, streams sorted by
their label string), metric queries `vector` (instant) or `matrix` (range, every `step` from
`start` to `end`). Parameters: `query`; `limit` (default 100, at most 5000); `start` / `end`
(nanosecond epoch, epoch seconds up to 10 digits, float seconds or RFC3339; `start` inclusive,
default one hour before `end`; `end` exclusive, default now) and `since`; `step`; `direction`
(`forward` or `backward`, the default); `time` for instant queries. What Loki refuses gets its
400 and a plain-text message; `fail_with` makes it answer like a broken Loki.

Entries come from the server's stdout log (one JSON object per line, what Alloy tails) with the
stream labels the server's own push and the Alloy pipeline set, and the timestamp of the line's
`timestamp` field (Alloy's timestamp stage). The log is read again at every request.
"""
from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from license_server.loki_push import APP_LABEL, KNOWN_EVENTS, KNOWN_LEVELS
from .loopback_http import serve, stop
from .logql_subset import (LogQLError, LogQuery, evaluate, format_number, format_time,
                          label_key, log_queries, parse, process)

QUERY_RANGE = "/loki/api/v1/query_range"
QUERY = "/loki/api/v1/query"
DEFAULT_LIMIT = 100
# Loki's default limits_config.max_entries_limit_per_query.
MAX_ENTRIES = 5000
DEFAULT_SINCE_NS = 3600 * 10**9
NS = 10**9
RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))")
DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
DURATION_NS = (365 * 86400 * NS, 7 * 86400 * NS, 86400 * NS, 3600 * NS, 60 * NS, NS, 10**6)


@dataclass(frozen=True)
class Entry:
    """One log entry as Loki stores it: timestamp (ns), stream labels, the raw line."""

    ts: int
    stream: dict
    line: str


class BadRequest(ValueError):
    """A request Loki answers with 400 and this message."""


def stream_labels(line: dict) -> dict:
    """The bounded stream labels of one line (app, level, event), as loki_push.py sets them."""
    labels = {"app": APP_LABEL}
    level = str(line.get("level", "")).lower()
    if level:
        labels["level"] = level if level in KNOWN_LEVELS else "other"
    if line.get("event"):
        labels["event"] = line["event"] if line["event"] in KNOWN_EVENTS else "other"
    return labels


def rfc3339_ns(text: str) -> int:
    """An RFC 3339 (nano) time as nanoseconds since the epoch, exactly."""
    match = RFC3339.fullmatch(text)
    if not match:
        raise ValueError(f'parsing time "{text}" as RFC3339: cannot parse')
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = match.groups()
    seconds = int(datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                           tzinfo=timezone.utc).timestamp())
    if not zulu:
        seconds -= (1 if sign == "+" else -1) * (int(off_h) * 3600 + int(off_m) * 60)
    return seconds * NS + int((frac or "").ljust(9, "0"))


def server_log_entries(log_path: Path) -> list[Entry]:
    """Every JSON line of a license server's stdout log, labelled and timed as Alloy ships it."""
    out = []
    for raw in log_path.read_text(errors="replace").splitlines():
        if not raw.startswith("{"):
            continue
        try:
            line = json.loads(raw)
            out.append(Entry(rfc3339_ns(line["timestamp"]), stream_labels(line), raw))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def parse_time(value: str, default: int) -> int:
    """Loki's timestamp parameter: ns epoch, seconds (<= 10 digits), float seconds or RFC3339."""
    if value == "":
        return default
    if "." in value:
        try:
            frac, whole = math.modf(float(value))
            return int(whole) * NS + round(frac * 1000) * 10**6
        except (ValueError, OverflowError):
            pass
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value) * NS if len(value) <= 10 else int(value)
    return rfc3339_ns(value)


def parse_duration(value: str) -> int:
    """A Prometheus duration (`1h30m`, `5m`, `250ms`) in nanoseconds."""
    match = DURATION.fullmatch(value)
    if not value or not match:
        raise ValueError(f'not a valid duration string: "{value}"')
    return sum(int(n) * unit for n, unit in zip(match.groups(), DURATION_NS) if n)


def seconds_or_duration(value: str) -> int:
    """Loki's step / interval: float seconds or a duration, in nanoseconds."""
    try:
        return int(float(value) * NS)
    except (ValueError, OverflowError):
        pass
    try:
        return parse_duration(value)
    except ValueError:
        raise BadRequest(f'cannot parse "{value}" to a valid duration') from None


def parse_query(text: str):
    """Parse LogQL, refusing what Loki refuses (syntax, selectors matching everything)."""
    try:
        query = parse(text)
    except LogQLError as exc:
        raise BadRequest(str(exc)) from None
    for log_query in log_queries(query):
        if not any((op == "=" and value) or (op == "=~" and not re.fullmatch(value, ""))
                   for _, op, value in log_query.selector):
            raise BadRequest(
                "parse error : queries require at least one regexp or equality matcher that does "
                "not have an empty-compatible value. For instance, app=~\".*\" does not meet this "
                "requirement, but app=~\".+\" will")
    return query


def parse_limit(params: dict) -> int:
    """`limit`: default 100, positive, at most max_entries_limit_per_query."""
    try:
        limit = int(params["limit"]) if params.get("limit", "") != "" else DEFAULT_LIMIT
    except ValueError:
        raise BadRequest(f'strconv.Atoi: parsing "{params["limit"]}": invalid syntax') from None
    if limit <= 0:
        raise BadRequest("limit must be a positive value")
    if limit > MAX_ENTRIES:
        raise BadRequest(f"max entries limit per query exceeded, limit > max_entries_limit_per_query "
                         f"({limit} > {MAX_ENTRIES})")
    return limit


def range_request(params: dict, now_ns: int) -> dict:
    """Validate query_range parameters as Loki's loghttp package does; raise BadRequest otherwise."""
    query = parse_query(params.get("query", ""))
    limit = parse_limit(params)
    since = DEFAULT_SINCE_NS
    if params.get("since"):
        try:
            since = parse_duration(params["since"])
        except ValueError as exc:
            raise BadRequest(f"could not parse 'since' parameter: {exc}") from None
    bounds = {}
    for name in ("end", "start"):
        default = now_ns if name == "end" else min(bounds["end"], now_ns) - since
        try:
            bounds[name] = parse_time(params.get(name, ""), default)
        except ValueError as exc:
            raise BadRequest(f"could not parse '{name}' parameter: {exc}") from None
    if bounds["end"] < bounds["start"]:
        raise BadRequest("end timestamp must not be before or equal to start time")
    direction = params.get("direction", "") or "backward"
    if direction.upper() not in ("FORWARD", "BACKWARD"):
        raise BadRequest(f"invalid direction '{direction}'")
    span = bounds["end"] - bounds["start"]
    step = seconds_or_duration(params["step"]) if params.get("step") else max(span // NS // 250, 1) * NS
    if step <= 0:
        raise BadRequest("zero or negative query resolution step widths are not accepted. Try a positive integer")
    if span // step > 11000:
        raise BadRequest("exceeded maximum resolution of 11,000 points per time series. "
                         "Try increasing the value of the step parameter")
    return {"query": query, "limit": limit, "start": bounds["start"], "end": bounds["end"],
            "backward": direction.upper() == "BACKWARD", "step": step}


def instant_request(params: dict, now_ns: int) -> dict:
    """Validate an instant query: a metric query at `time` (default now)."""
    query = parse_query(params.get("query", ""))
    if isinstance(query, LogQuery):
        raise BadRequest("log queries are not supported as an instant query type, please change "
                         "your query to a range query type")
    parse_limit(params)
    try:
        at = parse_time(params.get("time", ""), now_ns)
    except ValueError as exc:
        raise BadRequest(f"could not parse 'time' parameter: {exc}") from None
    return {"query": query, "time": at}


def label_string(labels: dict) -> str:
    """A label set as Loki prints (and sorts) it: `{a="1", b="2"}`, names in order."""
    return label_key(labels)


def select(request: dict, entries: list[Entry]) -> list[dict]:
    """The streams answer of a validated log query, as Loki's engine builds it."""
    chosen = [e for e in entries if request["start"] <= e.ts < request["end"]]
    chosen.sort(key=lambda e: e.ts, reverse=request["backward"])
    streams: dict[str, dict] = {}
    taken = 0
    for entry in chosen:
        if taken >= request["limit"]:
            break
        done = process(request["query"], entry.stream, entry.line)
        if done is None:
            continue
        labels, line, _ = done
        key = label_string(labels)
        streams.setdefault(key, {"stream": labels, "values": []})["values"].append([str(entry.ts), line])
        taken += 1
    return [streams[key] for key in sorted(streams)]


def vector(query, entries: list[Entry], at_ns: int) -> list[dict]:
    """An instant metric answer: `[{"metric": labels, "value": [seconds, "number"]}]`."""
    result = evaluate(query, entries, at_ns)
    return [{"metric": labels, "value": [format_time(at_ns), format_number(value)]}
            for _, (labels, value) in sorted(result.items())]


def matrix(request: dict, entries: list[Entry]) -> list[dict]:
    """A range metric answer: the query evaluated every `step` from `start` to `end`."""
    series: dict[str, dict] = {}
    at = request["start"]
    while at <= request["end"]:
        for key, (labels, value) in evaluate(request["query"], entries, at).items():
            series.setdefault(key, {"metric": labels, "values": []})["values"].append(
                [format_time(at), format_number(value)])
        at += request["step"]
    return [series[key] for key in sorted(series)]


class LokiQueryAPI:
    """The loopback server: answers query_range from `entries()`, records what it was asked."""

    def __init__(self, entries: Callable[[], list[Entry]], clock: Callable[[], float] | None = None):
        """Serve the entries `entries()` returns at each request; `clock` gives "now" in epoch seconds."""
        self.entries, self.clock = entries, clock or time.time
        self.received: list[dict] = []
        self.failure: tuple[int, str] | None = None
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                """Answer one request and record it."""
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                with api.lock:
                    api.received.append({"path": url.path, "params": params})
                    failure = api.failure
                if url.path == "/ready":
                    self.answer(200, "ready")
                elif url.path not in (QUERY_RANGE, QUERY):
                    self.answer(404, "404 page not found")
                elif failure:
                    self.answer(*failure)
                elif url.path == QUERY:
                    self.answer(*api.query(params))
                else:
                    self.answer(*api.query_range(params))

            def answer(self, status: int, body):
                """Send JSON for a dict, plain text (as Loki does for errors) for a string."""
                data = (json.dumps(body) if isinstance(body, dict) else body + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if isinstance(body, dict)
                                 else "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                """Keep the test output clean."""

        self.server, self.url = serve(Handler)

    def query_range(self, params: dict) -> tuple[int, dict | str]:
        """(status, body) for one query_range request."""
        def answer():
            request = range_request(params, int(self.clock() * NS))
            if isinstance(request["query"], LogQuery):
                return "streams", select(request, self.entries())
            return "matrix", matrix(request, self.entries())
        return self._answer(answer)

    def query(self, params: dict) -> tuple[int, dict | str]:
        """(status, body) for one instant query request."""
        def answer():
            request = instant_request(params, int(self.clock() * NS))
            return "vector", vector(request["query"], self.entries(), request["time"])
        return self._answer(answer)

    @staticmethod
    def _answer(compute) -> tuple[int, dict | str]:
        """Loki's envelope around a result, its 400 for a refused query, a 500 otherwise."""
        try:
            kind, result = compute()
        except (BadRequest, LogQLError) as exc:
            return 400, str(exc)
        except Exception as exc:  # noqa: BLE001 - like Loki, an internal failure is a 500 with its message
            return 500, f"internal error: {exc}"
        return 200, {"status": "success", "data": {"resultType": kind, "result": result, "stats": {}}}

    def fail_with(self, status: int | None, message: str = "") -> None:
        """Answer every query with `status` and `message` (None: answer normally again)."""
        with self.lock:
            self.failure = (status, message) if status else None

    def queries(self) -> list[dict]:
        """The parameters of every query request (range or instant) received so far."""
        with self.lock:
            return [r["params"] for r in self.received if r["path"] in (QUERY_RANGE, QUERY)]

    def close(self) -> None:
        """Stop serving."""
        stop(self.server)

    def __enter__(self) -> "LokiQueryAPI":
        """Use as a context manager: closed on exit."""
        return self

    def __exit__(self, *exc) -> None:
        """Stop serving."""
        self.close()
