"""Traces end to end: the stress test and the server under gunicorn (two workers) export to a
loopback OTLP/HTTP receiver that decodes each request with opentelemetry-proto.

The server batches for 60 s (OTEL_BSP_SCHEDULE_DELAY), so its spans can only arrive through
the flush each worker makes on exit: a lost flush loses spans and fails the counts.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import pytest
import requests
import yaml

from bench.otlp_receiver import OtlpReceiver
from support.logql_subset import evaluate, parse, run as run_logql
from support.loki_query_api import server_log_entries
from support.loopback_peers import LokiPeer
from support.webhook_auth import alert, notification, post_notification

REPO = Path(__file__).resolve().parents[2]
TOOL = "ETAS - INCA"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
BATCH_ONLY_AT_EXIT = {"OTEL_BSP_SCHEDULE_DELAY": "60000"}


@pytest.fixture()
def receiver():
    """A loopback OTLP/HTTP receiver for one test (ask for it before server_factory: it then
    outlives the servers, which send their last spans when they stop)."""
    peer = OtlpReceiver()
    yield peer
    peer.stop()


def log_lines(server_or_path) -> list[dict]:
    """The server's JSON log lines (gunicorn's own lines are not JSON and are skipped)."""
    path = getattr(server_or_path, "log_path", server_or_path)
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def by_id(spans) -> dict:
    """Spans keyed by span id."""
    return {span.span_id: span for span in spans}


def stopped(server, receiver, timeout: float = 15.0):
    """Stop the server (SIGTERM: each worker flushes on exit) and return the spans received."""
    server.stop()
    deadline = time.monotonic() + timeout
    count = -1
    while time.monotonic() < deadline and count != len(receiver.received()):
        count = len(receiver.received())
        time.sleep(0.3)
    assert receiver.refused == []
    return receiver.received()


def test_a_stress_test_operation_is_one_trace_through_the_server_to_sqlite(receiver, server_factory, tmp_path):
    """One trace per borrow and return, the client's attempt the parent of the server's request
    span, the borrow's spans with their attributes, SQLite statements, both workers' spans, none
    lost when the workers exit; the response, the log lines and the spans name the same trace."""
    server = server_factory({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, **BATCH_ONLY_AT_EXIT})
    summary = tmp_path / "summary.json"
    run = subprocess.run(
        [sys.executable, "-m", "stress_test", "--target", server.url, "--profile", "custom",
         "--workers", "4", "--ops", "5", "--mode", "full-cycle", "--tool", TOOL, "--yes",
         "--summary", str(summary), "--max-seconds", "40"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
        env={**subprocess_env(), "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    assert run.returncode == 0, run.stdout + run.stderr

    # One request of our own: its id, its response and its log lines against the spans.
    answer = requests.post(server.url + "/api/borrow", json={"tool": TOOL, "user": "trace-check"},
                           headers={"X-Request-ID": "trace-check-1"}, timeout=10)
    assert answer.status_code == 201
    trace_id = answer.headers["X-Trace-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
    assert answer.headers["traceresponse"].split("-")[1] == trace_id
    post_notification(server.url, notification("firing", alert("HighOverageRate", "firing", "f1", tool=TOOL)))

    server_spans_before_exit = [s for s in receiver.received() if s.resource["service.name"] == "license-server"]
    spans = stopped(server, receiver)
    assert server_spans_before_exit == []  # batched for 60 s: only the exit flush delivers them
    client = [s for s in spans if s.resource["service.name"] == "stress-test"]
    served = [s for s in spans if s.resource["service.name"] == "license-server"]
    everything = by_id(spans)

    # One trace per operation: a root span per borrow and per return, each in a trace of its own.
    roots = [s for s in client if not s.parent_id]
    assert Counter(s.name for s in roots) == Counter({"borrow": 20, "return": 20})
    assert len({s.trace_id for s in roots}) == 40
    attempts = [s for s in client if s.kind == "client"]
    assert len(attempts) == 40
    for attempt in attempts:
        root = everything[attempt.parent_id]
        assert root.trace_id == attempt.trace_id and not root.parent_id
        assert attempt.attributes["http.response.status_code"] in (200, 201)

    # The client's attempt is the parent of the server's request span, for every request.
    requests_served = [s for s in served if s.kind == "server" and s.parent_id in by_id(attempts)]
    assert len(requests_served) == 40
    for span in requests_served:
        assert everything[span.parent_id].name == f"POST {span.attributes['http.route']}"
        assert span.attributes["license.request_id"].startswith("stress-")

    # Every worker's spans, and the borrow's own spans with their attributes.
    assert len({s.resource["process.pid"] for s in served}) == 2
    transactions = [s for s in served if s.name == "borrow transaction"]
    assert len(transactions) == 21
    for tx in transactions:
        request_span = everything[tx.parent_id]
        assert request_span.kind == "server" and request_span.attributes["http.route"] == "/api/borrow"
        assert tx.attributes["license.tool"] == TOOL
        assert tx.attributes["license.seat"] in ("commit", "overage")
        assert tx.attributes["license.overage"] == (tx.attributes["license.seat"] == "overage")
        assert (tx.attributes["license.cost"] > 0) == tx.attributes["license.overage"]
        children = [s for s in served if s.parent_id == tx.span_id]
        allocate = [s for s in children if s.name == "allocate"]
        assert len(allocate) == 1 and allocate[0].attributes["license.seat"] == tx.attributes["license.seat"]
        statements = [s.attributes["db.statement"] for s in children if s.attributes.get("db.system") == "sqlite"]
        assert "SELECT * FROM tools WHERE name = ?" in statements
        assert statements[-1].startswith("INSERT INTO")
    stress_teams = {tx.attributes["license.team"] for tx in transactions if tx.attributes["license.user"] != "trace-check"}
    assert stress_teams == {"body-electronics"}

    # Alertmanager's notification: the incident handling is a span of the webhook's request.
    handling = next(s for s in served if s.name == "incident handling")
    assert everything[handling.parent_id].attributes["http.route"] == "/api/alerts/webhook"
    assert any(s.parent_id == handling.span_id and s.attributes.get("db.system") == "sqlite" for s in served)

    # The same trace id in the response, the request's log lines and the spans.
    mine = [s for s in served if s.trace_id == trace_id]
    assert {s.name for s in mine} >= {"POST /api/borrow", "borrow transaction", "allocate"}
    assert [s.attributes["license.request_id"] for s in mine if s.kind == "server"] == ["trace-check-1"]
    lines = [line for line in log_lines(server) if line.get("request_id") == "trace-check-1"]
    assert {line["event"] for line in lines} == {"borrow", "http_request"}
    assert {line["trace_id"] for line in lines} == {trace_id}
    assert {line["span_id"] for line in lines} <= {s.span_id for s in mine}
    # Lines of the stress test's requests carry their traces too.
    traced = [line for line in log_lines(server) if line.get("event") == "borrow" and line.get("trace_id")]
    assert {line["trace_id"] for line in traced} == {tx.trace_id for tx in transactions}
    grafana_links_lead_from_lines_to_traces_and_back(server.log_path, trace_id, transactions)


def grafana_links_lead_from_lines_to_traces_and_back(log_path: Path, trace_id: str, transactions) -> None:
    """The provisioned links on real lines: Loki's trace_id derived field finds the trace id of
    the line, Tempo's traces-to-logs query finds exactly that trace's lines, and the Slow
    Borrows panel's query lists the traced borrows by trace id."""
    stored = server_log_entries(log_path)
    entries = [(entry.stream, entry.line) for entry in stored]
    config = yaml.safe_load((REPO / "grafana/provisioning/datasources/datasources.yml").read_text())
    sources = {source["uid"]: source for source in config["datasources"]}
    derived = next(f for f in sources["loki"]["jsonData"]["derivedFields"] if f["name"] == "trace_id")
    assert derived["datasourceUid"] == sources["tempo"]["uid"] == "tempo"
    assert derived["url"].replace("$$", "$") == "${__value.raw}"
    borrow_line = next(line for stream, line in entries
                       if stream.get("event") == "borrow" and json.loads(line)["request_id"] == "trace-check-1")
    match = re.search(derived["matcherRegex"], borrow_line)
    assert match and match.group(1) == trace_id
    untraced = next(line for stream, line in entries if "trace_id" not in json.loads(line))
    assert re.search(derived["matcherRegex"], untraced) is None  # e.g. /readyz: no link

    to_logs = sources["tempo"]["jsonData"]["tracesToLogsV2"]
    assert to_logs["datasourceUid"] == "loki" and to_logs["customQuery"] is True
    query = to_logs["query"].replace("$$", "$").replace("${__trace.traceId}", trace_id)
    kept = run_logql(parse(query), entries)
    assert {k["event"] for k in kept} == {"borrow", "http_request"}
    assert {k["request_id"] for k in kept} == {"trace-check-1"}

    dashboard = json.loads((REPO / "grafana/provisioning/dashboards/json/license-server-operations.json").read_text())
    panel = next(p for p in dashboard["panels"] if p["title"] == "Slow Borrows (traces)")
    link = panel["fieldConfig"]["overrides"][0]["properties"][0]["value"][0]["url"]
    assert "tempo" in urllib.parse.unquote(link) and "${__value.raw}" in link
    expr = panel["targets"][0]["expr"].replace("$__range", "1h")
    rows = evaluate(parse(expr), stored, time.time_ns())
    assert len(rows) == 10
    assert {labels["trace_id"] for labels, _ in rows.values()} <= {tx.trace_id for tx in transactions}
    slowest = max(float(line["duration_ms"]) for line in log_lines(log_path)
                  if line.get("event") == "http_request" and line.get("route") == "/api/borrow")
    assert max(value for _, value in rows.values()) == slowest


def test_postgresql_statements_are_spans_of_the_borrow(receiver, server_factory, pg_cluster):
    """On PostgreSQL the borrow transaction's statements are psycopg spans, the tool's row locked;
    the Loki push is a span too, and the pushed borrow line carries the borrow's trace id."""
    loki = LokiPeer()
    server = server_factory({"DATABASE_URL": pg_cluster.new_database(), "LOKI_URL": loki.url,
                             "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, **BATCH_ONLY_AT_EXIT})
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    answer = requests.post(server.url + "/api/borrow", json={"tool": TOOL, "user": "pg-check", "team": "adas"},
                           headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}, timeout=10)
    assert answer.status_code == 201 and answer.headers["X-Trace-Id"] == trace_id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any('"pg-check"' in entry.line for entry in loki.entries):
        time.sleep(0.2)
    try:
        received = stopped(server, receiver)
    finally:
        loki.close()
    spans = [s for s in received if s.trace_id == trace_id]
    request_span = next(s for s in spans if s.kind == "server")
    assert request_span.parent_id == "00f067aa0ba902b7"
    tx = next(s for s in spans if s.name == "borrow transaction")
    assert tx.parent_id == request_span.span_id
    assert tx.attributes["license.team"] == "adas" and tx.attributes["license.seat"] == "commit"
    statements = [s for s in spans if s.parent_id == tx.span_id and s.attributes.get("db.system") == "postgresql"]
    assert any(s.attributes["db.statement"].endswith("FOR UPDATE") for s in statements)
    assert any(s.attributes["db.statement"].startswith("INSERT INTO borrows") for s in statements)
    pushes = [s for s in received if s.name == "loki push"]
    assert pushes and all(not s.parent_id and s.attributes["license.log_lines"] >= 1 for s in pushes)
    pushed = [json.loads(e.line) for e in loki.entries if '"pg-check"' in e.line and '"borrow"' in e.line]
    assert pushed and pushed[0]["trace_id"] == trace_id


def test_without_an_endpoint_nothing_is_traced_sent_or_logged(server_factory, tmp_path):
    """No endpoint: no trace headers, no trace ids in the log lines, no exporter complaint, even
    with a client's traceparent and the other OpenTelemetry variables set."""
    server = server_factory({"OTEL_SERVICE_NAME": "license-server", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
    answer = requests.post(server.url + "/api/borrow", json={"tool": TOOL, "user": "no-trace"},
                           headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                    "X-Request-ID": "no-trace-1"}, timeout=10)
    assert answer.status_code == 201
    assert "X-Trace-Id" not in answer.headers and "traceresponse" not in answer.headers
    server.stop()
    lines = [line for line in log_lines(server) if line.get("request_id") == "no-trace-1"]
    assert {line["event"] for line in lines} == {"borrow", "http_request"}
    assert all("trace_id" not in line for line in lines)
    log = server.log_path.read_text()
    assert not re.search(r"(?i)opentelemetry|export|traceback", log), log


def test_the_stress_test_sends_a_traceparent_even_without_an_endpoint(monkeypatch):
    """Without an endpoint the client still makes ids (the server's lines of one operation share a
    trace id): each attempt's header names the operation's trace and the attempt's own span."""
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    from stress_test import tracing
    with tracing.operation("borrow", tool=TOOL) as operation:
        with tracing.attempt("POST", "/api/borrow") as first:
            pass
        with tracing.attempt("POST", "/api/borrow") as retry:
            pass
    headers = [TRACEPARENT.match(sent.headers["traceparent"]) for sent in (first, retry)]
    assert all(headers)
    assert all(int(match[3], 16) & 1 for match in headers)  # sampled: the server records its part
    trace_id = format(operation.get_span_context().trace_id, "032x")
    assert [match[1] for match in headers] == [trace_id, trace_id]
    assert headers[0][2] != headers[1][2]
    with tracing.operation("return") as other:
        pass
    assert other.get_span_context().trace_id != operation.get_span_context().trace_id


def subprocess_env() -> dict:
    """This environment without OpenTelemetry variables a developer may have set."""
    import os
    return {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}


@pytest.mark.browser
def test_a_browser_error_report_joins_the_trace_of_the_borrow_it_broke_on(receiver, server_factory, admin_token,
                                                                           browser):
    """The dashboard's scripts send a traceparent with every request; under dashboard_js_error the
    widget's borrow succeeds, the script then throws, and its report carries the borrow's trace:
    the client_error line, the borrow's lines and both requests' spans share one trace id."""
    server = server_factory({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, **BATCH_ONLY_AT_EXIT})
    requests.put(server.url + "/api/faults/dashboard_js_error", json={"variant": "on"},
                 headers={"Authorization": f"Bearer {admin_token}"}, timeout=10).raise_for_status()
    page = browser.new_page(viewport={"width": 1600, "height": 900})  # a context of its own
    try:
        page.set_default_timeout(10_000)
        page.goto(server.url + "/dashboard")
        page.wait_for_selector('#demo-faults li[data-fault="dashboard_js_error"]', state="attached")
        page.click("#demo-borrow button")
        page.wait_for_function("document.body.dataset.lastErrorTraceId !== undefined")
        trace_id = page.evaluate("document.body.dataset.lastErrorTraceId")
        request_id = page.evaluate("document.body.dataset.lastErrorRequestId")
    finally:
        page.context.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
            line.get("event") == "client_error" for line in log_lines(server)):
        time.sleep(0.2)
    lines = [line for line in log_lines(server) if line.get("trace_id") == trace_id]
    assert {"borrow", "client_error"} <= {line["event"] for line in lines}
    report = next(line for line in lines if line["event"] == "client_error")
    assert report["request_id"] == request_id and report["kind"] == "unhandledrejection"
    spans = stopped(server, receiver)
    routes = {s.attributes.get("http.route") for s in spans if s.trace_id == trace_id and s.kind == "server"}
    assert routes == {"/api/borrow", "/api/client-errors"}
    # The page's polling requests came with their own traceparent: their server spans have a parent.
    polled = [s for s in spans if s.kind == "server" and s.attributes.get("http.route") == "/api/overview"]
    assert polled and all(s.parent_id for s in polled)


def test_the_investigator_cites_the_trace_ids_of_the_lines_it_read(receiver, server_factory):
    """Overage borrows of a traced server: the investigator's log facts name their trace ids,
    newest first, each the trace the server answered for that borrow."""
    from license_demo.clients import PrometheusClient, ServerClient
    from license_demo.investigate.evidence import Evidence, FactLog, Settings, Sources
    from license_demo.investigate.facts import loki_lines
    from license_demo.investigate.gathered import ToolFocus, ToolSeats, ToolUsage
    from license_demo.investigate.subject import Subject
    from support.loki_query_api import LokiQueryAPI

    davinci = "Vector - DaVinci Configurator SE"
    server = server_factory({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, **BATCH_ONLY_AT_EXIT})
    traces = []
    for n in range(8):  # commit 5: the last three are overage
        answer = requests.post(server.url + "/api/borrow", json={"tool": davinci, "user": f"dev-{n}"}, timeout=10)
        assert answer.status_code == 201
        traces.append(answer.headers["X-Trace-Id"])
    ev = Evidence(at=time.time(), settings=Settings(window=120), subject=Subject(text="overage on DaVinci"))
    ev.usage, ev.focus = ToolUsage(now={davinci: ToolSeats(overage=3)}), ToolFocus(davinci)
    col = FactLog(Sources(server=ServerClient(server.url), prometheus=PrometheusClient("http://127.0.0.1:9")), ev)
    with LokiQueryAPI(lambda: server_log_entries(server.log_path)) as loki:
        loki_lines.add_log_facts(col, loki.url)
    assert ev.facts["log_lines"].value == 3
    assert ev.facts["log_trace_ids"].value == traces[::-1][:3]


def test_a_protocol_the_server_cannot_export_stops_it_with_what_to_set():
    """http/json (no Python exporter) and grpc without its package are refused at start, by name."""
    from license_server import tracing
    settings = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_PROTOCOL=http/json is not supported: use http/protobuf or grpc"):
        tracing.check(settings)
    assert tracing.endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}) == "http://collector:4318/v1/traces"
    assert tracing.endpoint({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/t", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) == "http://c/t"
    assert tracing.endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}) is None
    assert tracing.endpoint({}) is None


def test_compose_sends_traces_through_alloy_to_tempo():
    """The server's endpoint is Alloy's OTLP/HTTP receiver; Alloy exports to the port Tempo's
    distributor listens on; Grafana's Tempo datasource reads Tempo's HTTP port."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    alloy = (REPO / "loki/config.alloy").read_text()
    tempo = yaml.safe_load((REPO / "tempo/tempo.yaml").read_text())
    endpoint = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1",
                      compose["services"]["license-server"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert endpoint == "http://alloy:4318"
    receiver = re.search(r'otelcol\.receiver\.otlp "default" \{\s*http \{\s*endpoint = "0\.0\.0\.0:(\d+)"', alloy)
    assert receiver and receiver.group(1) == "4318" and "4318:4318" in compose["services"]["alloy"]["ports"]
    exporter = re.search(r'otelcol\.exporter\.otlp "tempo" \{\s*client \{\s*endpoint = "tempo:(\d+)"', alloy)
    grpc = tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert exporter and grpc.endswith(":" + exporter.group(1))
    datasources = yaml.safe_load((REPO / "grafana/provisioning/datasources/datasources.yml").read_text())
    source = next(d for d in datasources["datasources"] if d["type"] == "tempo")
    assert source["url"] == f"http://tempo:{tempo['server']['http_listen_port']}"
    assert compose["services"]["alloy"]["depends_on"]["tempo"] == {"condition": "service_healthy"}


def test_a_sampled_share_keeps_the_clients_traces_and_drops_its_own(receiver, server_factory):
    """OTEL_TRACES_SAMPLER=parentbased_traceidratio with 0: requests without a trace make no
    spans, a client's sampled traceparent is still followed; a share outside 0-1 is refused."""
    from license_server import tracing

    server = server_factory({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, **BATCH_ONLY_AT_EXIT,
                             "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                             "OTEL_TRACES_SAMPLER_ARG": "0"})
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    for n in range(5):
        assert requests.post(server.url + "/api/borrow", json={"tool": TOOL, "user": f"plain-{n}"},
                             timeout=10).status_code == 201
    followed = requests.post(server.url + "/api/borrow", json={"tool": TOOL, "user": "traced"}, timeout=10,
                             headers={"traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
    assert followed.status_code == 201
    spans = stopped(server, receiver)
    assert spans and {s.trace_id for s in spans} == {trace_id}
    with pytest.raises(ValueError, match="OTEL_TRACES_SAMPLER_ARG=2 is outside 0 to 1"):
        tracing.check({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
                       "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"})
