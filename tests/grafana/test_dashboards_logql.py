"""Every LogQL query (panels, the request_id derived field) against the server's real log lines.

The lines come from the license server of the loaded native stack (its stdout, what Alloy tails
in compose); stream labels are computed as the server's Loki push and the Alloy pipeline set them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
import yaml

from dashboard_queries import expand, queries
from license_server.loki_push import APP_LABEL, KNOWN_EVENTS, KNOWN_LEVELS
from stack_load import DAVINCI
from support.logql_subset import log_queries, parse, run
from support.loki_query_api import QUERY, QUERY_RANGE, LokiQueryAPI, server_log_entries

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
STREAM_LABELS = {"app", "level", "event"}


@pytest.fixture(scope="module")
def entries(loaded_stack):
    """(stream labels, raw line) for every JSON line the server wrote."""
    out = [(e.stream, e.line) for e in server_log_entries(loaded_stack.processes[0].log_path)]
    assert len(out) > 50, "the server logged almost nothing"
    return out


def loki_queries(dashboards):
    """(where, log query) for every Loki target (the log query inside a metric one), tool DaVinci."""
    return [(where, query) for where, expr in queries(dashboards, "loki")
            for query in log_queries(parse(expand(expr, {"tool": DAVINCI, "team": ".*"})))]


def test_stream_selectors_use_bounded_labels_only(generated_dashboards):
    """Selectors name app="license-server" and only level/event values the pipeline emits."""
    found = loki_queries(generated_dashboards)
    assert len(found) >= 3
    for where, query in found:
        names = {name for name, _, _ in query.selector}
        assert names <= STREAM_LABELS, (where, names)
        assert ("app", "=", APP_LABEL) in query.selector, where
        for name, op, value in query.selector:
            allowed = {"event": KNOWN_EVENTS, "level": KNOWN_LEVELS}.get(name)
            if allowed and op == "=":
                assert value in allowed, (where, value)
            elif allowed and op == "=~":
                assert set(value.split("|")) <= allowed, (where, value)


def test_json_fields_exist_in_the_selected_lines(generated_dashboards, entries):
    """Each field a query filters or groups on is a field of the lines its selector picks."""
    for where, query in loki_queries(generated_dashboards):
        selected = [json.loads(raw) for stream, raw in entries
                    if all(re.fullmatch(v, stream.get(n, "")) if op == "=~" else
                           stream.get(n, "") == v for n, op, v in query.selector)]
        assert selected, f"{where}: no line has the stream labels {query.selector}"
        keys = set().union(*(line.keys() for line in selected))
        missing = query.json_fields() - keys
        assert not missing, f"{where}: fields {missing} never appear in its lines"


def test_every_query_finds_the_load(generated_dashboards, loaded_stack):
    """Each Loki target, sent as Grafana sends it (instant or range), answers with the load's data."""
    log = loaded_stack.processes[0].log_path
    with LokiQueryAPI(lambda: server_log_entries(log)) as loki:
        for dash in generated_dashboards.values():
            for panel in dash["panels"]:
                for target in panel.get("targets", []):
                    if target["datasource"]["type"] != "loki":
                        continue
                    expr = expand(target["expr"], {"tool": DAVINCI, "team": ".*"})
                    instant = target.get("queryType") == "instant"
                    answer = requests.get(loki.url + (QUERY if instant else QUERY_RANGE),
                                          params={"query": expr, "limit": 1000}, timeout=30)
                    assert answer.status_code == 200, (panel["title"], answer.text)
                    data = answer.json()["data"]
                    assert data["resultType"] == ("vector" if instant else "streams")
                    assert data["result"], f"{panel['title']}: nothing for {expr}"


def test_overage_query_selects_exactly_the_overage_borrows(generated_dashboards, entries):
    """The panel's query and the guide's, exactly as written, keep DaVinci's overage borrows only.

    Returns, force-returns and expired leases of overage seats name the seat kind in `seat`,
    so `| overage="true"` does not pick them up.
    """
    dash = generated_dashboards["license-business-metrics.json"]
    panel = next(p for p in dash["panels"] if p["title"] == "Overage Borrows (logs)")
    guide = f'{{app="license-server"}} | json | tool="{DAVINCI}" | overage="true"'
    expected = [raw for _, raw in entries
                if (line := json.loads(raw)).get("event") == "borrow"
                and line.get("tool") == DAVINCI and line.get("overage") is True]
    given_back = [raw for _, raw in entries if json.loads(raw).get("seat") == "overage"]
    assert given_back, "the load returns overage seats: the test needs such lines"
    for expr in (expand(panel["targets"][0]["expr"], {"tool": DAVINCI}), guide):
        kept = run(parse(expr), entries)
        assert len(kept) == len(expected) > 5, expr
        assert {k["event"] for k in kept} == {"borrow"}
        assert all(k["user"] and "team" in k and k["request_id"] for k in kept)


def test_request_id_derived_field_links_all_lines_of_a_request(entries):
    """The derived field's regex finds request_id in a raw line; its link query finds that request."""
    config = yaml.safe_load((REPO / "grafana/provisioning/datasources/datasources.yml").read_text())
    loki = next(d for d in config["datasources"] if d["type"] == "loki")
    derived = loki["jsonData"]["derivedFields"][0]
    assert derived["datasourceUid"] == loki["uid"] == "loki"
    # Provisioning turns `$$` into `$`; Grafana then fills ${__value.raw} with the match.
    url = derived["url"].replace("$$", "$")
    borrow_raw = next(raw for stream, raw in entries if stream.get("event") == "borrow")
    match = re.search(derived["matcherRegex"], borrow_raw)
    assert match and match.group(1) == json.loads(borrow_raw)["request_id"]
    query = parse(url.replace("${__value.raw}", match.group(1)))
    kept = run(query, entries)
    events = {k["event"] for k in kept}
    assert {"borrow", "http_request"} <= events, events
    assert all(k["request_id"] == match.group(1) for k in kept)
