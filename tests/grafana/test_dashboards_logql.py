"""Every LogQL query (panels, the request_id derived field) against the server's real log lines.

The lines come from the license server of the loaded native stack (its stdout, what Alloy tails
in compose); stream labels are computed as the server's Loki push and the Alloy pipeline set them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from dashboard_queries import expand, queries
from license_server.loki_push import APP_LABEL, KNOWN_EVENTS, KNOWN_LEVELS
from logql_subset import parse, run
from loki_query_api import server_log_entries
from stack_load import DAVINCI

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
    """(where, parsed query) for every Loki target, tool filled in as DaVinci."""
    return [(where, parse(expand(expr, {"tool": DAVINCI, "team": ".*"})))
            for where, expr in queries(dashboards, "loki")]


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


def test_every_query_finds_the_load(generated_dashboards, entries):
    """Each panel query returns lines (or groups) of the load for DaVinci."""
    for where, query in loki_queries(generated_dashboards):
        assert run(query, entries), f"{where}: no line selected"


def test_overage_query_selects_exactly_the_overage_borrows(generated_dashboards, entries):
    """The presenter's query keeps DaVinci borrows with "overage": true, and nothing else."""
    dash = generated_dashboards["license-business-metrics.json"]
    panel = next(p for p in dash["panels"] if p["title"] == "Overage Borrows (logs)")
    query = parse(expand(panel["targets"][0]["expr"], {"tool": DAVINCI}))
    kept = run(query, entries)
    expected = [raw for _, raw in entries
                if (line := json.loads(raw)).get("event") == "borrow"
                and line.get("tool") == DAVINCI and line.get("overage") is True]
    assert len(kept) == len(expected) > 5
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
