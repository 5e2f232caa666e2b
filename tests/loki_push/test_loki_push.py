"""LokiHandler against a real HTTP receiver on loopback that checks Loki's push format."""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import jsonschema
import requests
import pytest
from pythonjsonlogger.json import JsonFormatter

from license_server.loki_push import LokiHandler
from support.loopback_http import serve, stop
from support.processes import free_port

SCHEMA = json.loads((Path(__file__).parent / "loki_push_schema.json").read_text())


class Receiver:
    """A loopback HTTP server that records push requests and answers as told."""

    def __init__(self, statuses=(), delay: float = 0.0):
        """Answer with `statuses` in turn (then 204), each after `delay` seconds."""
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        self.delay = delay
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                """Record the request, then answer with the next configured status."""
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                """Keep the test output clean."""

        self.server, self.url = serve(Handler)

    def payloads(self) -> list[dict]:
        """Return the decoded JSON bodies received so far."""
        return [json.loads(request["body"]) for request in self.requests]

    def lines(self) -> list[dict]:
        """Return every pushed log line (decoded JSON) with its stream labels."""
        out = []
        for payload in self.payloads():
            for stream in payload["streams"]:
                for ts, line in stream["values"]:
                    out.append({"labels": stream["stream"], "ts": int(ts), **json.loads(line)})
        return out

    def stop(self):
        """Shut the server down."""
        stop(self.server)


@pytest.fixture()
def receiver():
    """A receiver answering 204 immediately."""
    server = Receiver()
    yield server
    server.stop()


def make_logger(handler: logging.Handler, name: str) -> logging.Logger:
    """A logger sending only to `handler`, formatting lines as JSON like the server does."""
    handler.setFormatter(JsonFormatter("%(levelname)s %(message)s",
                                       rename_fields={"levelname": "level"}))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def test_payload_matches_loki_push_format(receiver):
    """Every request goes to /loki/api/v1/push as JSON that validates against the schema."""
    handler = LokiHandler(receiver.url, batch_size=7, flush_interval=0.2)
    logger = make_logger(handler, "loki-format")
    for i in range(20):
        logger.info("seat borrowed", extra={"event": "borrow", "tool": "ETAS - INCA",
                                           "user": f"u{i}", "overage": i % 2 == 0})
    logger.warning("no seat left", extra={"event": "borrow_rejected", "tool": "ETAS - INCA"})
    handler.close()

    assert receiver.requests, "nothing was pushed"
    for request in receiver.requests:
        assert request["path"] == "/loki/api/v1/push"
        assert request["headers"]["Content-Type"] == "application/json"
        jsonschema.validate(json.loads(request["body"]), SCHEMA)
    lines = receiver.lines()
    assert len(lines) == 21
    assert handler.sent == 21 and handler.dropped == 0
    borrow = [line for line in lines if line["event"] == "borrow"]
    assert {line["user"] for line in borrow} == {f"u{i}" for i in range(20)}
    assert borrow[0]["labels"] == {"app": "license-server", "level": "info", "event": "borrow"}
    assert borrow[0]["overage"] is True and borrow[0]["tool"] == "ETAS - INCA"
    rejected = [line for line in lines if line["event"] == "borrow_rejected"]
    assert rejected[0]["labels"]["level"] == "warning"


def test_labels_stay_bounded(receiver):
    """Only app, level and known events become labels; unknown events collapse to 'other'."""
    handler = LokiHandler(receiver.url, labels={"env": "demo"}, flush_interval=0.1)
    logger = make_logger(handler, "loki-labels")
    logger.info("odd", extra={"event": "made_up_event_42", "user": "alice", "tool": "X"})
    logger.info("plain line without event")
    handler.close()
    label_sets = [line["labels"] for line in receiver.lines()]
    assert {"app": "license-server", "env": "demo", "level": "info", "event": "other"} in label_sets
    assert {"app": "license-server", "env": "demo", "level": "info"} in label_sets
    for labels in label_sets:
        assert set(labels) <= {"app", "env", "level", "event"}


def test_basic_auth_sent_when_configured(receiver):
    """With a user (Grafana Cloud), each push carries HTTP basic auth."""
    handler = LokiHandler(receiver.url, user="12345", password="glc_secret", flush_interval=0.1)
    make_logger(handler, "loki-auth").info("hello", extra={"event": "reset"})
    handler.close()
    expected = "Basic " + base64.b64encode(b"12345:glc_secret").decode()
    assert receiver.requests and all(r["headers"]["Authorization"] == expected
                                     for r in receiver.requests)


def test_timestamps_strictly_increase_per_stream_across_batches(receiver):
    """Within and across batches, each stream's timestamps only go up (Loki's ordering rule)."""
    handler = LokiHandler(receiver.url, batch_size=5, flush_interval=0.05)
    logger = make_logger(handler, "loki-order")
    for i in range(60):
        # Same created time for many records: ties must still come out strictly ordered.
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, f"line {i}", None,
                                   None, extra={"event": "borrow" if i % 3 else "return"})
        record.created = 1_700_000_000.0 + (i // 10)
        logger.handle(record)
    handler.close()
    assert len(receiver.requests) > 1, "expected several batches"
    per_stream: dict[tuple, list[int]] = {}
    for payload in receiver.payloads():
        jsonschema.validate(payload, SCHEMA)
        for stream in payload["streams"]:
            key = tuple(sorted(stream["stream"].items()))
            per_stream.setdefault(key, []).extend(int(ts) for ts, _ in stream["values"])
    assert len(per_stream) == 2
    for timestamps in per_stream.values():
        assert timestamps == sorted(timestamps) and len(set(timestamps)) == len(timestamps)
    assert sum(len(t) for t in per_stream.values()) == 60


def test_retries_with_backoff_until_loki_recovers():
    """Two 503s then success: the batch is delivered once Loki answers, nothing dropped."""
    server = Receiver(statuses=[503, 503])
    try:
        handler = LokiHandler(server.url, flush_interval=0.1, max_retries=5)
        make_logger(handler, "loki-retry").info("after outage", extra={"event": "return"})
        deadline = time.monotonic() + 10
        while handler.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        handler.close()
        assert handler.sent == 1 and handler.dropped == 0
        assert len(server.requests) == 3
        bodies = [r["body"] for r in server.requests]
        assert bodies[0] == bodies[1] == bodies[2], "a retry must resend the same batch"
    finally:
        server.stop()


def test_rejected_batch_is_not_retried_and_counted():
    """A 400 from Loki (bad batch) is not retried; its lines count as dropped."""
    server = Receiver(statuses=[400])
    drops = []
    try:
        handler = LokiHandler(server.url, flush_interval=0.1, on_drop=drops.append)
        logger = make_logger(handler, "loki-400")
        logger.info("one", extra={"event": "borrow"})
        logger.info("two", extra={"event": "borrow"})
        handler.close()
        assert len(server.requests) == 1
        assert handler.dropped == 2 and sum(drops) == 2
    finally:
        server.stop()


def test_loki_down_never_slows_the_caller_and_counts_drops():
    """Nothing listens: emitting stays as fast as a local handler, overflow is counted."""
    dead_url = f"http://127.0.0.1:{free_port()}"
    drops = []
    handler = LokiHandler(dead_url, max_queue=100, flush_interval=0.05, max_retries=2,
                          close_timeout=1.0, on_drop=drops.append)
    logger = make_logger(handler, "loki-down")
    baseline = make_logger(_FormatOnly(), "loki-baseline")

    def emit_seconds(target: logging.Logger, count: int) -> float:
        """Wall time spent by the caller emitting `count` lines."""
        started = time.perf_counter()
        for i in range(count):
            target.info("borrow", extra={"event": "borrow", "tool": "ETAS - INCA", "user": f"u{i}"})
        return time.perf_counter() - started

    emit_seconds(baseline, 200)  # warm-up
    local = min(emit_seconds(baseline, 2000) for _ in range(3))
    to_dead_loki = emit_seconds(logger, 2000)
    handler.close()
    # Same formatting work either way; a queueing handler adds microseconds, not network time.
    assert to_dead_loki < 5 * local + 0.25, (to_dead_loki, local)
    assert handler.sent == 0
    assert handler.dropped == 2000 and sum(drops) == 2000


def test_slow_loki_does_not_block_emit():
    """Loki holding each push for 2 s: emits return at once, lines wait in the queue."""
    server = Receiver(delay=2.0)
    try:
        handler = LokiHandler(server.url, batch_size=50, flush_interval=0.05, max_queue=10_000)
        logger = make_logger(handler, "loki-slow")
        logger.info("first", extra={"event": "borrow"})
        time.sleep(0.2)  # the first push is now in flight, held by the receiver
        slowest = 0.0
        for i in range(500):
            started = time.perf_counter()
            logger.info("line", extra={"event": "borrow", "n": i})
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 0.5, f"an emit waited {slowest:.3f}s on the network"
        handler.close()
        assert handler.sent + handler.dropped == 501
    finally:
        server.stop()


def test_close_flushes_queued_lines(receiver):
    """Lines still waiting for their flush interval are sent when the handler closes."""
    handler = LokiHandler(receiver.url, flush_interval=60, batch_size=1000)
    logger = make_logger(handler, "loki-close")
    for i in range(3):
        logger.info("late line", extra={"event": "force_return", "n": i})
    started = time.monotonic()
    handler.close()
    assert time.monotonic() - started < 5
    assert [line["n"] for line in receiver.lines()] == [0, 1, 2]
    logger.info("after close", extra={"event": "force_return"})
    assert handler.sent == 3


class _FormatOnly(logging.Handler):
    """Formats each record and discards it: the caller-side cost of any handler."""

    def emit(self, record):
        """Format and drop."""
        self.format(record)


def test_server_pushes_borrow_lines_answering_the_presenters_query(receiver, server_factory):
    """A real gunicorn server with LOKI_URL pushes its borrow lines: labels and JSON fields
    that `{app="license-server"} | json | tool="..." | overage="true"` selects."""
    server = server_factory(env={"LOKI_URL": receiver.url})
    tool = "Vector - DaVinci Configurator SE"
    for i in range(6):  # 5 commit seats, so the sixth borrow is an overage one
        response = requests.post(server.url + "/api/borrow",
                                 json={"tool": tool, "user": f"loki-{i}", "team": "powertrain"},
                                 timeout=10)
        assert response.status_code == 201
    deadline = time.monotonic() + 15
    borrows = []
    while time.monotonic() < deadline:
        borrows = [line for line in receiver.lines() if line.get("event") == "borrow"]
        if len(borrows) == 6:
            break
        time.sleep(0.2)
    for payload in receiver.payloads():
        jsonschema.validate(payload, SCHEMA)
    assert len(borrows) == 6
    overage = [line for line in borrows if line["tool"] == tool and line["overage"] is True]
    assert [line["user"] for line in overage] == ["loki-5"]
    assert overage[0]["labels"] == {"app": "license-server", "level": "info", "event": "borrow"}
