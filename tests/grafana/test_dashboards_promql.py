"""Every PromQL expression of every dashboard, annotation and variable, against a real Prometheus.

The native stack (server, Prometheus with the demo rules, Alertmanager) runs a stress-like load
(15 s cycles, kept running while the tests query); each expression, with the template variables filled in as Grafana would, must be
accepted by Prometheus and return data.
"""
from __future__ import annotations

import datetime
import re
import time

import pytest
import requests

from stack_load import DAVINCI
from dashboard_queries import expand, queries

pytestmark = pytest.mark.stack

# Only one bucket of these has data on a fresh Prometheus: the current hour / weekday.
BUCKETED = re.compile(r"and on \(\) (hour|day_of_week)\(\) == (\d+)\)")


def instant(prometheus_url: str, expr: str) -> list:
    """Evaluate `expr` now; fail with Prometheus's own error message when it is rejected."""
    response = requests.post(f"{prometheus_url}/api/v1/query", data={"query": expr}, timeout=30)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (
        f"Prometheus rejected {expr!r}: {body.get('errorType')}: {body.get('error')}")
    return body["data"]["result"]


def test_load_exercised_every_path(loaded_stack):
    """The load really produced grants, exhaustion (409) and injected failures (503)."""
    assert not loaded_stack.load.errors, loaded_stack.load.errors
    statuses = loaded_stack.load.statuses
    assert statuses.get(201, 0) > 20 and statuses.get(409, 0) > 0 and statuses.get(503, 0) > 0, statuses


def test_every_promql_expression_returns_data(loaded_stack, generated_dashboards):
    """All-tools and single-tool variants of each expression are valid and non-empty."""
    now = datetime.datetime.now(datetime.timezone.utc)
    current = {"hour": now.hour, "day_of_week": (now.weekday() + 1) % 7}
    empty, checked, bucket_exprs = [], 0, []
    for where, expr in queries(generated_dashboards, "prometheus"):
        for tool in (".*", DAVINCI):
            text = expand(expr, {"tool": tool, "team": ".*"})
            result = instant(loaded_stack.prometheus_url, text)
            checked += 1
            bucket = BUCKETED.search(expr)
            if bucket:
                if int(bucket.group(2)) == current[bucket.group(1)]:
                    bucket_exprs.append((where, text))
                continue
            if not result:
                empty.append(f"{where} [tool={tool}]: {text}")
    assert checked > 60
    assert not empty, "expressions without data after the load:\n" + "\n".join(empty)
    # The peak-by-hour/weekday subqueries step by 1 minute: wait for the first aligned step.
    assert len(bucket_exprs) == 4, bucket_exprs
    deadline = time.monotonic() + 70
    pending = list(bucket_exprs)
    while pending and time.monotonic() < deadline:
        pending = [(w, t) for w, t in pending if not instant(loaded_stack.prometheus_url, t)]
        if pending:
            time.sleep(5)
    assert not pending, f"current hour/weekday peak without data: {pending}"


def test_overage_gauge_reads_the_load(loaded_stack):
    """The Overage Rate gauge's series shows DaVinci's heavy overage (well above 30 %)."""
    result = instant(loaded_stack.prometheus_url,
                     f'tool:license_overage_rate:ratio{{tool="{DAVINCI}"}}')
    assert result and float(result[0]["value"][1]) > 0.3, result


def test_variable_queries_list_values(loaded_stack, generated_dashboards):
    """label_values(metric, label) variables find the tools and teams of the load."""
    seen = {}
    for dash in generated_dashboards.values():
        for variable in dash["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"])
            assert match, variable["query"]
            response = requests.get(
                f"{loaded_stack.prometheus_url}/api/v1/label/{match.group(2)}/values",
                params={"match[]": match.group(1)}, timeout=10)
            seen[variable["name"]] = response.json()["data"]
    assert DAVINCI in seen["tool"]
    assert {"body", "chassis"} <= set(seen["team"])


def test_annotations_mark_the_load(loaded_stack, generated_dashboards):
    """Config change, deployment and demo act annotations each find the load's event."""
    dash = generated_dashboards["license-business-metrics.json"]
    by_name = {a["name"]: a for a in dash["annotations"]["list"] if "expr" in a}
    config = instant(loaded_stack.prometheus_url,
                     expand(by_name["Config changes"]["expr"], {"tool": ".*"}))
    assert any(r["metric"]["tool"] == "ETAS - INCA" for r in config)
    # useValueForTime: the value is the change time in milliseconds, close to now.
    assert all(abs(float(r["value"][1]) / 1000 - time.time()) < 300 for r in config)
    deploys = instant(loaded_stack.prometheus_url, by_name["Deployments"]["expr"])
    versions = set(loaded_stack.load.versions)
    assert any(r["metric"]["version"] in versions and r["metric"]["commit"].startswith("abc")
               for r in deploys), (deploys, versions)
    acts = instant(loaded_stack.prometheus_url, by_name["Demo acts"]["expr"])
    assert any(r["metric"].get("journey") == "grafana-test" for r in acts), acts
    # Each annotation's tags and title read labels that its series carry.
    for name, series in (("Config changes", config), ("Deployments", deploys), ("Demo acts", acts)):
        keys = {*by_name[name]["tagKeys"].split(","), *re.findall(r"{{(\w+)}}", by_name[name]["titleFormat"])}
        assert any(keys <= set(r["metric"]) for r in series), (name, keys, series)


def panel_expr(dashboards: dict, title: str, ref: str = "A") -> str:
    """The query `ref` of the panel called `title` (any dashboard)."""
    for dash in dashboards.values():
        for panel in dash["panels"]:
            if panel["title"] == title:
                return next(t["expr"] for t in panel["targets"] if t["refId"] == ref)
    raise KeyError(title)


@pytest.mark.parametrize("title, ref, where", [
    ("Lease Expiries and Force-Returns", "A", None),
    ("Lease Expiries and Force-Returns", "B", None),
    ("Borrow Failures by Reason", "A", ("reason", "server_error")),
    ("Borrow Failures by Reason", "A", ("reason", "exhausted")),
    ("Error Ratio (5xx)", "A", None),
    ("Overage Cost (selected range)", "A", None),
    ("Frontend Errors", "A", None),
    ("License Checkouts by User", "A", ("user", "alice")),
    ("Commit vs Overage Seats in Use", "B", ("tool", DAVINCI)),
])
def test_panels_show_the_load_as_non_zero(loaded_stack, generated_dashboards, title, ref, where):
    """Series pre-created at zero would pass a "has data" check: these must show the load itself."""
    expr = expand(panel_expr(generated_dashboards, title, ref), {"tool": ".*", "team": ".*"})
    result = instant(loaded_stack.prometheus_url, expr)
    if where:
        result = [r for r in result if r["metric"].get(where[0]) == where[1]]
    assert result and max(float(r["value"][1]) for r in result) > 0, (title, expr, result)
