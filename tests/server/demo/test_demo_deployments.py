"""license_server/demo/deployments.py through the Flask test client: deploy, roll back, build info."""
from __future__ import annotations

import pytest


def test_a_deployment_brings_its_faults_and_a_rollback_takes_them_away(client, admin, scrape):
    """Deploy 1.5.0 with borrow_errors: version, faults and build info follow; roll back restores."""
    started = client.get("/api/deployments").get_json()["current"]
    deployed = client.post("/api/deployments", headers=admin, json={
        "version": "1.5.0", "commit": "a1b2c3d", "faults": {"borrow_errors": "50pct"}})
    assert deployed.status_code == 201
    assert deployed.get_json()["previous"]["version"] == started["version"]
    assert client.get("/api/status").get_json()["version"] == "1.5.0"
    faults = {f["name"]: f["variant"] for f in client.get("/api/faults").get_json()}
    assert faults["borrow_errors"] == "50pct"
    assert scrape(client)[("license_server_build_info", (("commit", "a1b2c3d"), ("version", "1.5.0")))] == 1

    rolled = client.post("/api/deployments/rollback", headers=admin)
    assert rolled.status_code == 200
    assert (rolled.get_json()["current"]["version"], rolled.get_json()["rolled_back"]["version"]) == (
        started["version"], "1.5.0")
    assert all(f["variant"] == "off" for f in client.get("/api/faults").get_json())
    history = client.get("/api/deployments").get_json()["history"]
    assert [entry["action"] for entry in history] == ["deploy", "rollback"]


def test_nothing_to_roll_back_is_a_conflict(client, admin):
    """A rollback before any deployment is 409 with what to do."""
    answer = client.post("/api/deployments/rollback", headers=admin)
    assert answer.status_code == 409 and "Deploy one first" in answer.get_json()["detail"]


@pytest.mark.parametrize("body, status", [
    ({"version": "1.5.0"}, 400),
    ({"version": "1 5", "commit": "abc"}, 400),
    ({"version": "1.5.0", "commit": "abc", "faults": {"no_such_fault": "on"}}, 404),
    ({"version": "1.5.0", "commit": "abc", "faults": {"borrow_errors": "7pct"}}, 400),
    ([], 400),
])
def test_bad_deployments_change_nothing(client, admin, body, status):
    """Invalid bodies, unknown faults and variants are 4xx JSON errors; nothing is deployed."""
    answer = client.post("/api/deployments", headers=admin, json=body)
    assert answer.status_code == status and answer.get_json()["error"]
    assert client.get("/api/deployments").get_json()["history"] == []


def test_deploying_needs_the_admin_token(client):
    """No token: 401."""
    assert client.post("/api/deployments", json={"version": "1.5.0", "commit": "abc"}).status_code == 401
