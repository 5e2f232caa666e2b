"""An alert's links work for any tool name: the logs link's LogQL finds that tool's overage borrows.

promtool (tests/detection/test_detection_rules.py) checks that real Prometheus renders each
alert's links exactly as prometheus/generate_rules.py expects, including a tool named
`MATLAB/Simulink (R2024b) v1.2 "beta" C:\\tools`. Here the expected links of that case are
opened as Grafana would: the `left` parameter decoded, its JSON parsed and its LogQL run by the
Loki double (tests/support/logql_subset.py) over the lines a real server logs for such a tool.
"""
from __future__ import annotations

import json
import logging
import urllib.parse
from pathlib import Path

import pytest
import yaml

from license_server import create_app, logs, stop_background
from support import logql_subset

REPO = Path(__file__).resolve().parents[2]
ODD = 'MATLAB/Simulink (R2024b) v1.2 "beta" C:\\tools'
PLAIN = "Vector - CANoe"


def odd_alert_annotations(profile: str) -> dict:
    """The annotations promtool expects of the HighOverageRate case with the odd tool name."""
    tests = yaml.safe_load((REPO / f"prometheus/tests/{profile}.test.yml").read_text())["tests"]
    for case in tests:
        for check in case["alert_rule_test"]:
            for alert in check["exp_alerts"]:
                if alert["exp_labels"].get("tool") == ODD:
                    return alert["exp_annotations"]
    raise AssertionError(f"no case with tool {ODD!r} in the {profile} promtool tests")


class Collect(logging.Handler):
    """Keep the server's formatted lines in a list."""

    def __init__(self, into: list):
        super().__init__()
        self.into = into

    def emit(self, record):
        """Format the line as the server's stdout handler does and keep it."""
        self.into.append(self.format(record))


@pytest.fixture(scope="module")
def server_lines(tmp_path_factory):
    """The JSON lines a real app logs for two borrows of the odd tool (commit 1: the second is
    overage), one of another tool beyond its commit, and a return of the odd tool's overage seat."""
    folder = tmp_path_factory.mktemp("odd-tool")
    catalog = folder / "tools.yaml"
    catalog.write_text(yaml.safe_dump({"tools": [
        {"name": ODD, "commit": 1, "max_overage": 5, "overage_cost": 100, "commit_cost_monthly": 400},
        {"name": PLAIN, "commit": 0, "max_overage": 5, "overage_cost": 100, "commit_cost_monthly": 400}]}))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder / 'license.db'}",
                      "TOOLS_FILE": str(catalog), "LEASE_REAP_INTERVAL": 0, "INCIDENT_CHECK_INTERVAL": 0})
    lines = []

    keep = Collect(lines)
    keep.setFormatter(logs.json_formatter())
    keep.addFilter(logs.RequestContextFilter())
    logs.logger.addHandler(keep)
    try:
        client = app.test_client()
        ids = [client.post("/api/borrow", json={"tool": tool, "user": "dev"}).get_json()["id"]
               for tool in (ODD, ODD, PLAIN)]
        client.post("/api/return", json={"id": ids[1]})
    finally:
        logs.logger.removeHandler(keep)
        stop_background(app)
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("profile", ["production", "demo"])
def test_logs_link_finds_the_odd_tools_overage_borrow(server_lines, profile):
    """The decoded link's LogQL keeps exactly the odd tool's overage borrow line; the dashboard
    link carries the name intact in var-tool."""
    annotations = odd_alert_annotations(profile)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(annotations["logs"]).query)
    pane = json.loads(query["left"][0])
    expr = pane["queries"][0]["expr"]
    parsed = logql_subset.parse(expr)
    entries = [({"app": "license-server", "level": line["level"].lower(), "event": line["event"]},
                json.dumps(line)) for line in server_lines]
    kept = logql_subset.run(parsed, entries)
    assert [(k["event"], k["tool"], k["overage"]) for k in kept] == [("borrow", ODD, "true")], expr
    dashboard = urllib.parse.parse_qs(urllib.parse.urlsplit(annotations["dashboard"]).query)
    assert dashboard["var-tool"] == [ODD]
