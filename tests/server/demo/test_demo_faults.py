"""license_server/demo/faults.py through the Flask test client: switches, variants, borrow faults."""
from __future__ import annotations

import json

import pytest

TOOL = "Vector - DaVinci Configurator SE"


def borrow(client, **headers):
    """POST one borrow of TOOL."""
    return client.post("/api/borrow", json={"tool": TOOL, "user": "ana", "team": "powertrain"},
                       headers=headers)


def test_every_fault_is_listed_off_at_start(client):
    """GET /api/faults lists each switch with "off" first and no start time."""
    listed = {fault["name"]: fault for fault in client.get("/api/faults").get_json()}
    assert set(listed) == {"borrow_errors", "borrow_latency", "dashboard_js_error"}
    assert all(f["variant"] == "off" and f["since"] is None and f["variants"][0] == "off"
               for f in listed.values())


@pytest.mark.parametrize("name, body, status, error", [
    ("no_such_fault", {"variant": "off"}, 404, "not_found"),
    ("borrow_errors", {"variant": "75pct"}, 400, "invalid_request"),
    ("borrow_errors", {}, 400, "invalid_request"),
    ("borrow_errors", {"variant": 50}, 400, "invalid_request"),
])
def test_bad_switches_are_refused_with_what_to_send(client, admin, name, body, status, error):
    """Unknown faults and variants get a 4xx JSON error naming the right values; nothing changes."""
    answer = client.put(f"/api/faults/{name}", json=body, headers=admin)
    assert answer.status_code == status
    assert answer.get_json()["error"] == error
    assert all(f["variant"] == "off" for f in client.get("/api/faults").get_json())


def test_switching_needs_the_admin_token(client):
    """PUT without a token is 401."""
    assert client.put("/api/faults/borrow_errors", json={"variant": "100pct"}).status_code == 401


def test_borrow_errors_fail_borrows_and_record_them(client, admin, scrape, capsys):
    """100pct: the borrow is a 503 server_error, counted, logged with the fault, and no seat taken."""
    key = ("license_borrow_failures_total", (("reason", "server_error"), ("tool", TOOL)))
    before = scrape(client).get(key, 0)
    capsys.readouterr()
    switched = client.put("/api/faults/borrow_errors", json={"variant": "100pct"}, headers=admin)
    assert switched.status_code == 200 and switched.get_json()["since"].endswith("Z")
    answer = borrow(client)
    assert (answer.status_code, answer.get_json()["error"]) == (503, "server_error")
    metrics = scrape(client)
    assert metrics[key] == before + 1
    assert metrics[("license_fault_active", (("fault", "borrow_errors"), ("variant", "100pct")))] == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    rejected = [line for line in lines if line.get("event") == "borrow_rejected"]
    assert [(r["reason"], r["fault"], r["variant"], r["level"], r["user"]) for r in rejected] == [
        ("server_error", "borrow_errors", "100pct", "ERROR", "ana")]
    assert client.get("/api/borrows").get_json() == []

    client.put("/api/faults/borrow_errors", json={"variant": "off"}, headers=admin)
    assert borrow(client).status_code == 201


def test_borrow_latency_delays_the_borrow(client, admin, monkeypatch):
    """borrow_latency sleeps the variant's seconds once before the borrow is handled."""
    from license_server.demo import faults
    slept = []
    monkeypatch.setattr(faults.time, "sleep", slept.append)
    client.put("/api/faults/borrow_latency", json={"variant": "1s"}, headers=admin)
    assert borrow(client).status_code == 201
    assert client.get("/api/tools").status_code == 200
    assert slept == [1.0]
