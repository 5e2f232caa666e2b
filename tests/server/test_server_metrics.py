"""/metrics after a known sequence of borrows: in-process and under gunicorn with 2 workers."""
from __future__ import annotations

import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

TOOL = "Vector - DaVinci Configurator SE"
T = (("tool", TOOL),)
ADMIN = {"Authorization": "Bearer test-admin-token"}

# (name, labels) -> increase the sequence below causes.
EXPECTED_COUNTERS = {
    ("license_borrow_success_total", T): 7,
    ("license_overage_checkouts_total", T): 2,
    ("license_overage_cost_dollars_total", T): 2 * 150,
    ("license_returns_total", T): 2,
    ("license_borrow_failures_total", (("reason", "exhausted"), ("tool", "Vector - CANoe"))): 1,
    ("license_borrow_failures_total", (("reason", "unknown_tool"), ("tool", "unknown"))): 1,
    ("license_borrow_failures_total", (("reason", "invalid_request"), ("tool", "unknown"))): 1,
    ("license_checkouts_by_user_total", (("team", "chassis"), ("tool", TOOL), ("user", "alice"))): 4,
    ("license_checkouts_by_user_total", (("team", "body"), ("tool", TOOL), ("user", "bob"))): 3,
    ("license_force_returns_total", T): 2,
    ("license_config_changes_total", (("tool", "Vector - CANoe"),)): 2,
    ("license_http_requests_total", (("method", "POST"), ("route", "/api/borrow"),
                                     ("status", "201"))): 7,
    ("license_http_requests_total", (("method", "POST"), ("route", "/api/borrow"),
                                     ("status", "409"))): 1,
    ("license_http_request_duration_seconds_count", (("method", "GET"),
                                                     ("route", "/api/tools/<path:name>"))): 1,
}
# Gauges after the sequence (read from the database at scrape time).
EXPECTED_GAUGES = {
    ("licenses_in_use", T): 3, ("licenses_commit", T): 5, ("licenses_overage", T): 0,
    ("licenses_max_overage", T): 15, ("licenses_available", T): 17,
    ("licenses_commit", (("tool", "Vector - CANoe"),)): 0,
    ("licenses_max_overage", (("tool", "Vector - CANoe"),)): 0,
    ("licenses_held_by_user", (("team", "chassis"), ("user", "alice"))): 3,
    ("licenses_commit_cost_monthly_dollars", T): 600, ("licenses_overage_cost_dollars", T): 150,
}


def run_sequence(post, get, put) -> None:
    """7 DaVinci borrows (5 commit, 2 overage), refusals, 2 returns, a config change, force-return."""
    ids = []
    for user, team, count in (("alice", "chassis", 4), ("bob", "body", 3)):
        for _ in range(count):
            answer = post("/api/borrow", {"tool": TOOL, "user": user, "team": team})
            assert answer.status_code == 201
            ids.append(answer.json()["id"] if callable(answer.json) else answer.json["id"])
    assert post("/api/borrow", {"tool": "Nope", "user": "x"}).status_code == 404
    assert post("/api/borrow", {"tool": TOOL}).status_code == 400
    assert put("/api/config/tools/Vector - CANoe", {"commit": 0, "max_overage": 0}).status_code == 200
    assert post("/api/borrow", {"tool": "Vector - CANoe", "user": "x"}).status_code == 409
    # Return alice's first seat (commit) and bob's last (overage).
    for seat_id in (ids[0], ids[-1]):
        assert post("/api/return", {"id": seat_id}).status_code == 200
    assert post("/api/users/bob/force-return", None).status_code == 200
    assert get(f"/api/tools/{TOOL}").status_code == 200


def check(before: dict, after: dict) -> None:
    """Counters rose by the expected amounts; gauges hold the expected values."""
    for key, increase in EXPECTED_COUNTERS.items():
        assert after.get(key, 0) - before.get(key, 0) == pytest.approx(increase), key
    for key, value in EXPECTED_GAUGES.items():
        assert after.get(key) == value, key
    assert ("licenses_held_by_user", (("team", "body"), ("user", "bob"))) not in after
    changed = after[("license_config_last_change_timestamp_seconds", (("tool", "Vector - CANoe"),))]
    assert abs(changed - time.time()) < 120
    assert any(name == "license_server_build_info" and value == 1
               for (name, _labels), value in after.items())
    assert after[("process_resident_memory_bytes", ())] > 10_000_000
    assert after[("process_cpu_seconds_total", ())] > 0


def test_metrics_in_process(client, scrape):
    """The sequence through the test client moves every metric as expected."""
    before = scrape(client)

    def post(path, body):
        return client.post(path, json=body, headers=ADMIN)

    run_sequence(post, client.get, lambda path, body: client.put(path, json=body, headers=ADMIN))
    check(before, scrape(client))


def test_metrics_under_gunicorn_sum_workers(server_factory):
    """The same sequence against 2 gunicorn workers: one scrape shows every worker's counts."""
    server = server_factory(workers=2)

    def call(method, path, body=None):
        # A fresh connection per request, so both workers take a share.
        return requests.request(method, server.url + path, json=body, headers=ADMIN, timeout=10)

    def scrape():
        text = call("GET", "/metrics").text
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    before = scrape()
    run_sequence(lambda p, b: call("POST", p, b), lambda p: call("GET", p),
                 lambda p, b: call("PUT", p, b))
    after = scrape()
    check(before, after)
    info = [labels for (name, labels), _ in after.items() if name == "license_server_build_info"]
    assert len(info) == 1 and dict(info[0])["version"]
