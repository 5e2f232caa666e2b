"""Fault switches, deployments, act markers and client errors: each with its visible effect."""
from __future__ import annotations

import json
import time

import requests

TOOL = "Vector - DaVinci Configurator SE"


def metric(server_url: str, name: str, **labels) -> float:
    """The value of one sample in the server's /metrics (0 when absent)."""
    text = requests.get(server_url + "/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def admin(server, token, method, path, body=None):
    """One admin call."""
    return requests.request(method, server.url + path, json=body, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})


def borrow(server, user="tester", tool=TOOL):
    """One borrow attempt; returns the response."""
    return requests.post(server.url + "/api/borrow", json={"tool": tool, "user": user}, timeout=30)


def test_fault_api_validates_and_reports_state(server_factory, admin_token):
    """Unknown faults and variants get a clear error; the state shows in the API and the metric."""
    server = server_factory()
    faults = requests.get(server.url + "/api/faults", timeout=10).json()
    assert {f["name"] for f in faults} == {"borrow_errors", "borrow_latency", "dashboard_js_error"}
    assert all(f["variant"] == "off" for f in faults)
    assert requests.put(server.url + "/api/faults/borrow_errors", json={"variant": "50pct"},
                        timeout=10).status_code == 401
    unknown = admin(server, admin_token, "PUT", "/api/faults/disk_full", {"variant": "on"})
    assert unknown.status_code == 404 and "borrow_errors" in unknown.json()["detail"]
    bad = admin(server, admin_token, "PUT", "/api/faults/borrow_errors", {"variant": "60pct"})
    assert bad.status_code == 400 and "50pct" in bad.json()["detail"]
    assert admin(server, admin_token, "PUT", "/api/faults/borrow_errors", {}).status_code == 400
    on = admin(server, admin_token, "PUT", "/api/faults/borrow_latency", {"variant": "250ms"})
    assert on.status_code == 200 and on.json()["variant"] == "250ms"
    assert metric(server.url, "license_fault_active", fault="borrow_latency", variant="250ms") == 1
    assert metric(server.url, "license_fault_active", fault="borrow_latency", variant="1s") == 0
    admin(server, admin_token, "PUT", "/api/faults/borrow_latency", {"variant": "off"})
    assert metric(server.url, "license_fault_active", fault="borrow_latency", variant="250ms") == 0


def test_borrow_errors_fail_the_chosen_share_with_503(server_factory, admin_token):
    """25pct: about a quarter of the borrows answer 503, all counted as server_error."""
    server = server_factory()
    admin(server, admin_token, "PUT", "/api/faults/borrow_errors", {"variant": "25pct"})
    statuses = []
    for i in range(240):
        response = borrow(server, user=f"u{i}")
        statuses.append(response.status_code)
        if response.status_code == 201:
            requests.post(server.url + "/api/return", json={"id": response.json()["id"]}, timeout=10)
    failed = statuses.count(503)
    assert set(statuses) <= {201, 503}
    assert 0.15 < failed / len(statuses) < 0.35, failed
    assert metric(server.url, "license_borrow_failures_total", tool=TOOL, reason="server_error") == failed
    admin(server, admin_token, "PUT", "/api/faults/borrow_errors", {"variant": "off"})
    assert all(borrow(server, user=f"after{i}").status_code == 201 for i in range(10))


def test_borrow_latency_adds_the_chosen_delay(server_factory, admin_token):
    """1s: every borrow takes at least a second longer than without the fault."""
    server = server_factory()

    def timed() -> float:
        started = time.monotonic()
        response = borrow(server)
        assert response.status_code == 201
        requests.post(server.url + "/api/return", json={"id": response.json()["id"]}, timeout=10)
        return time.monotonic() - started

    before = min(timed() for _ in range(3))
    admin(server, admin_token, "PUT", "/api/faults/borrow_latency", {"variant": "1s"})
    slow = [timed() for _ in range(3)]
    assert min(slow) >= 1.0 and min(slow) - before >= 0.9
    admin(server, admin_token, "PUT", "/api/faults/borrow_latency", {"variant": "off"})
    assert timed() < 0.9


def test_deploy_and_rollback_change_build_info_and_faults(server_factory, admin_token):
    """A deployment changes build_info and brings its faults; the rollback undoes both."""
    server = server_factory()
    start = requests.get(server.url + "/api/deployments", timeout=10).json()["current"]
    assert admin(server, admin_token, "POST", "/api/deployments/rollback").status_code == 409
    assert admin(server, admin_token, "POST", "/api/deployments", {"version": "bad version!"}).status_code == 400
    deployed = admin(server, admin_token, "POST", "/api/deployments",
                     {"version": "9.1.0", "commit": "abc1234", "faults": {"borrow_errors": "100pct"}})
    assert deployed.status_code == 201, deployed.text
    assert metric(server.url, "license_server_build_info", version="9.1.0", commit="abc1234") == 1
    assert borrow(server).status_code == 503
    rolled = admin(server, admin_token, "POST", "/api/deployments/rollback")
    assert rolled.status_code == 200 and rolled.json()["current"]["version"] == start["version"]
    assert metric(server.url, "license_server_build_info", version=start["version"]) == 1
    assert metric(server.url, "license_server_build_info", version="9.1.0") == 0
    assert borrow(server).status_code == 201
    log = server.log_path.read_text()
    events = [json.loads(line) for line in log.splitlines() if '"deployment"' in line and line.startswith("{")]
    assert [e.get("action") for e in events] == ["deploy", "rollback"]


def test_act_marks_log_and_expose_timestamps(server_factory, admin_token):
    """An act marker is a log event, a counter and a timestamp gauge."""
    server = server_factory()
    bad = admin(server, admin_token, "POST", "/api/demo/marks", {"journey": "Overage Crisis", "act": "x"})
    assert bad.status_code == 400
    before = time.time()
    assert admin(server, admin_token, "POST", "/api/demo/marks",
                 {"journey": "overage-crisis", "act": "fix"}).status_code == 201
    stamp = metric(server.url, "license_demo_act_timestamp_seconds", journey="overage-crisis", act="fix")
    assert before - 1 <= stamp <= time.time() + 1
    assert metric(server.url, "license_demo_acts_total", journey="overage-crisis", act="fix") == 1
    assert '"demo_act"' in server.log_path.read_text()


def test_client_errors_are_logged_and_counted(server_factory):
    """A reported browser error is counted by page and kind and logged with its request id."""
    server = server_factory()
    assert requests.post(server.url + "/api/client-errors", json={"nope": 1}, timeout=10).status_code == 400
    response = requests.post(server.url + "/api/client-errors", timeout=10,
                             headers={"X-Request-ID": "js-test-42"},
                             json={"message": "TypeError: x is undefined", "page": "dashboard",
                                   "kind": "error", "stack": "at borrow (demo_widgets.js:1)"})
    assert response.status_code == 201
    assert metric(server.url, "license_frontend_errors_total", page="dashboard", kind="error") == 1
    lines = [json.loads(l) for l in server.log_path.read_text().splitlines()
             if "js-test-42" in l and '"client_error"' in l]
    assert lines and lines[0]["request_id"] == "js-test-42"
    assert "TypeError" in lines[0]["error_message"]
