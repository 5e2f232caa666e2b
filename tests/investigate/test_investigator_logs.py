"""Log facts against Loki's query API: a loopback Loki serving the lines the license server really wrote.

The loopback (tests/support/loki_query_api.py) is first held to Loki's documented contract, then the
investigator's `--loki` path runs against it on the native stack: the facts must say what the
lines say, and a Loki that fails or is away must leave a metrics-only investigation with a note.
"""
from __future__ import annotations

import json
import time
import uuid

import requests

from investigator_helpers import DAVINCI, cli_env, fact, fresh, investigate, wait_prom
from license_demo.clients import PrometheusClient, ServerClient
from license_demo.investigate.facts import loki_lines
from license_demo.investigate.evidence import Evidence, FactLog, Settings, Sources
from license_demo.investigate.gathered import ToolFocus, ToolSeats, ToolUsage
from license_demo.investigate.subject import Subject
from support.loki_query_api import QUERY_RANGE, LokiQueryAPI, label_string, rfc3339_ns, server_log_entries
from support.processes import free_port

# DaVinci's commit in the demo configuration: borrows past it are overage.
COMMIT = 5
TEAM, USERS = "chassis", ["ida", "jonas", "lea"]
OVERAGE_QUERY = f'{{app="license-server"}} | json | event="borrow" | tool="{DAVINCI}" | overage="true"'
# The CLI test examines this many seconds: only its own borrows are in them.
WINDOW = 30


def borrow_with_ids(server_url: str, count: int) -> list[str]:
    """`count` borrows of DaVinci, each with its own X-Request-ID; return the ids in order."""
    tag = uuid.uuid4().hex[:8]
    ids = [f"logs-{tag}-{i:02d}" for i in range(count)]
    for i, rid in enumerate(ids):
        response = requests.post(f"{server_url}/api/borrow", headers={"X-Request-ID": rid}, timeout=10,
                                 json={"tool": DAVINCI, "user": USERS[i % len(USERS)], "team": TEAM})
        assert response.status_code == 201, response.text
        assert response.headers["X-Request-ID"] == rid
    return ids


def overage_lines(log_path, start_ns: int, end_ns: int) -> list[dict]:
    """The overage borrows of DaVinci the server logged in [start, end), newest first, read directly."""
    lines = [json.loads(raw) for raw in log_path.read_text().splitlines() if raw.startswith("{")]
    kept = [line for line in lines if line.get("event") == "borrow" and line.get("tool") == DAVINCI
            and line.get("overage") is True and start_ns <= rfc3339_ns(line["timestamp"]) < end_ns]
    return sorted(kept, key=lambda line: rfc3339_ns(line["timestamp"]), reverse=True)


def rfc3339(ns: int) -> str:
    """Nanoseconds since the epoch as RFC3339 with nine fractional digits, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


def get(loki: LokiQueryAPI, **params) -> requests.Response:
    """One query_range request to the loopback."""
    return requests.get(loki.url + QUERY_RANGE, params=params, timeout=10)


def test_loopback_loki_follows_the_query_range_contract(server_factory):
    """Streams per label set sorted by labels, values in direction, limit, [start, end), Loki's 400s."""
    server = server_factory()
    ids = borrow_with_ids(server.url, COMMIT + 4)
    with LokiQueryAPI(lambda: server_log_entries(server.log_path)) as loki:
        # The log itself holds the borrows past commit as overage lines.
        logged = overage_lines(server.log_path, 0, time.time_ns() + 10**9)
        assert [line["request_id"] for line in logged] == ids[:COMMIT - 1:-1]
        now = time.time_ns()
        answer = get(loki, query=OVERAGE_QUERY, start=now - 60 * 10**9, end=now + 10**9, limit=1000)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "success" and body["data"]["resultType"] == "streams"
        streams = body["data"]["result"]
        # `| json` makes every field a label: each line (own request id) is a stream of its own.
        assert len(streams) == 4 and all(len(s["values"]) == 1 for s in streams)
        assert [label_string(s["stream"]) for s in streams] == sorted(label_string(s["stream"]) for s in streams)
        for s in streams:
            line = json.loads(s["values"][0][1])
            assert s["stream"]["app"] == "license-server" and s["stream"]["event"] == "borrow"
            assert s["stream"]["level"] == "info" and s["stream"]["request_id"] == line["request_id"]
            assert int(s["values"][0][0]) == rfc3339_ns(line["timestamp"])
        found = sorted(((int(ts), json.loads(raw)["request_id"]) for s in streams for ts, raw in s["values"]),
                       reverse=True)
        assert [rid for _, rid in found] == ids[:COMMIT - 1:-1]

        # Without a parser the lines share one stream, whose values show the direction; limit keeps
        # the first ones in that direction.
        mine = [rid for i, rid in enumerate(ids) if USERS[i % len(USERS)] == "ida"]
        assert len(mine) == 3
        for direction, expected in (("backward", mine[::-1][:2]), ("forward", mine[:2])):
            answer = get(loki, query='{app="license-server", event="borrow"} |= "\\"user\\": \\"ida\\""',
                         limit=2, direction=direction, start=now - 60 * 10**9)
            streams = answer.json()["data"]["result"]
            assert len(streams) == 1, streams
            assert [json.loads(raw)["request_id"] for _, raw in streams[0]["values"]] == expected

        # start is inclusive, end exclusive; RFC3339 and nanoseconds name the same instants.
        ts = sorted(ts for ts, _ in found)
        inside = get(loki, query=OVERAGE_QUERY, start=ts[1], end=ts[3]).json()["data"]["result"]
        assert sorted(int(v[0]) for s in inside for v in s["values"]) == ts[1:3]
        as_text = get(loki, query=OVERAGE_QUERY, start=rfc3339(ts[1]), end=rfc3339(ts[3]))
        assert as_text.json()["data"]["result"] == inside

        refused = {
            "no query": {}, "empty selector": {"query": "{}"}, "not LogQL": {"query": "overage please"},
            "empty-compatible matcher only": {"query": '{app=~".*"}'},
            "bad start": {"query": OVERAGE_QUERY, "start": "yesterday"},
            "bad end": {"query": OVERAGE_QUERY, "end": "2024-13-01T00:00:00Z"},
            "end before start": {"query": OVERAGE_QUERY, "start": now, "end": now - 10**9},
            "zero limit": {"query": OVERAGE_QUERY, "limit": 0},
            "limit not a number": {"query": OVERAGE_QUERY, "limit": "many"},
            "limit over the maximum": {"query": OVERAGE_QUERY, "limit": 5001},
            "bad direction": {"query": OVERAGE_QUERY, "direction": "sideways"},
            "bad since": {"query": OVERAGE_QUERY, "since": "a while"},
        }
        for case, params in refused.items():
            answer = get(loki, **params)
            assert answer.status_code == 400 and answer.text.strip(), (case, answer.status_code, answer.text)
        # Metric queries are evaluated too (tests/test_loki_double.py holds them to real Loki).
        metric = get(loki, query=f"sum by (tool) (count_over_time({OVERAGE_QUERY} [1m]))")
        assert metric.status_code == 200 and metric.json()["data"]["resultType"] == "matrix"


def test_investigator_log_facts_are_the_overage_lines_it_asked_loki_for(native_stack, tmp_path):
    """Overage borrows with request ids: count and newest ids from Loki equal the lines; Loki away is a note."""
    stack = native_stack
    fresh(stack, quiet_seconds=WINDOW)
    ids = borrow_with_ids(stack.server_url, COMMIT + 7)
    wait_prom(stack, f'sum(licenses_overage{{tool="{DAVINCI}"}})', lambda v: v == 7)
    log_path = next(p for p in stack.processes if p.name == "license-server").log_path
    env = cli_env(stack, tmp_path / "audit.jsonl")

    with LokiQueryAPI(lambda: server_log_entries(log_path)) as loki:
        code, result, err = investigate(env, "overage spike on DaVinci", "--window", str(WINDOW), "--loki", loki.url)
        assert code == 0, err
        assert result["tool"] == DAVINCI
        sent = loki.queries()
        assert len(sent) == 1, sent
        # The window starts at the reset when that is nearer than --window.
        at, window = result["evidence"]["at_epoch"], result["evidence"]["window_seconds"]
        assert window <= WINDOW, result["evidence"]
        assert sent[0] == {"query": OVERAGE_QUERY, "start": str(int((at - window) * 1e9)), "end": str(int(at * 1e9)),
                           "limit": str(loki_lines.LIMIT), "direction": "backward"}
        # The facts name the query that was sent.
        lines_fact, ids_fact = fact(result, "log_lines"), fact(result, "log_request_ids")
        assert lines_fact["query"] == f"GET {QUERY_RANGE} {OVERAGE_QUERY}" and ids_fact["query"] == OVERAGE_QUERY
        assert lines_fact["source"] == ids_fact["source"] == "loki"
        # What the log file says for the same window: exactly this test's 7 overage borrows.
        expected = overage_lines(log_path, int((at - window) * 1e9), int(at * 1e9))
        assert [line["request_id"] for line in expected] == ids[:COMMIT - 1:-1]
        assert lines_fact["value"] == len(expected) == 7
        assert ids_fact["value"] == [line["request_id"] for line in expected][:loki_lines.SAMPLE] == ids[:6:-1]
        assert not any("Loki" in note for note in result["evidence"]["notes"]), result["evidence"]["notes"]

        # Loki failing: the investigation completes from metrics, with a note carrying Loki's answer.
        loki.fail_with(500, "rpc error: code = Unavailable desc = no ingesters")
        code, failed, err = investigate(env, "overage spike on DaVinci", "--window", str(WINDOW), "--loki", loki.url)
        assert len(loki.queries()) == 2, "the investigator did not ask Loki"
    assert code == 0, err
    assert_metrics_only(failed, f"Loki at {loki.url} answered HTTP 500: rpc error: code = Unavailable")

    # Loki away: nothing listens on the port.
    away = f"http://127.0.0.1:{free_port()}"
    code, unreachable, err = investigate(env, "overage spike on DaVinci", "--window", str(WINDOW), "--loki", away)
    assert code == 0, err
    assert_metrics_only(unreachable, f"Loki at {away} unreachable (")


def assert_metrics_only(result: dict, note_start: str) -> None:
    """No log facts, one note saying why, and the metric facts and ranking still there."""
    keys = {f["key"] for f in result["evidence"]["facts"]}
    assert not keys & {"log_lines", "log_request_ids"}, keys
    notes = [n for n in result["evidence"]["notes"] if n.startswith(note_start)]
    assert len(notes) == 1 and notes[0].endswith("the investigation uses metrics only"), result["evidence"]["notes"]
    assert result["tool"] == DAVINCI and fact(result, "overage_seats_now")["value"] == 7
    assert result["top_hypothesis"] in ("build_job", "commit_too_low"), result["hypotheses"]


def test_a_count_at_loki_limit_is_reported_as_a_lower_bound(server_factory, monkeypatch):
    """When Loki returns as many lines as asked for, the count is kept and a note says it is a floor."""
    server = server_factory()
    ids = borrow_with_ids(server.url, COMMIT + 3)
    monkeypatch.setattr(loki_lines, "LIMIT", 2)
    ev = Evidence(at=time.time(), settings=Settings(window=120), subject=Subject(text="overage on DaVinci"))
    ev.usage, ev.focus = ToolUsage(now={DAVINCI: ToolSeats(overage=3)}), ToolFocus(DAVINCI)
    col = FactLog(Sources(server=ServerClient(server.url), prometheus=PrometheusClient("http://127.0.0.1:9")), ev)
    with LokiQueryAPI(lambda: server_log_entries(server.log_path)) as loki:
        loki_lines.add_log_facts(col, loki.url)
        assert loki.queries()[0]["limit"] == "2"
    assert ev.facts["log_lines"].value == 2
    assert ev.facts["log_request_ids"].value == ids[::-1][:2]
    assert ev.notes == ["Loki returned its limit of 2 lines: the log line count is a lower bound"]
