"""/api/overview (the dashboard's incident, chart and runs), approvals' refusals, and a reset."""
from __future__ import annotations

import re


from license_server import overview
from support.webhook_auth import alert, app_webhook_headers, notification

TOOL = "Vector - DaVinci Configurator SE"


def fire(client, app, status: str, name: str = "HighOverageRate", **labels):
    """One notification for `name` on TOOL."""
    answer = client.post("/api/alerts/webhook", json=notification(status, alert(name, status, "f-" + name,
                                                                                tool=TOOL, **labels)),
                         headers=app_webhook_headers(app))
    assert answer.status_code == 200


def test_runs_split_at_quiet_gaps_or_by_run_id():
    """Borrows with a run id form one run; others split where the tool was quiet over 30 s."""
    rows = [{"at": t, "tool": TOOL, "team": "p", "overage": over, "cost": 150.0 if over else 0.0, "run_id": run}
            for t, over, run in [(0, False, None), (10, True, None), (45, False, None),     # gap 35 s: new run
                                 (50, True, "r1"), (100, True, "r1"), (101, False, None)]]
    runs = overview.runs(rows)
    assert [(r["borrows"], r["overage_borrows"], r["run_id"]) for r in runs] == \
        [(2, 1, None), (1, 0, None), (2, 2, "r1"), (1, 0, None)]
    assert runs[0]["overage_share"] == 0.5 and runs[2]["overage_cost"] == 300.0


def test_overview_shows_incident_series_markers_and_runs(app, client, admin):
    """The open incident with its team, the share per 30 s, markers and the last two runs."""
    for i in range(20):
        client.post("/api/borrow", json={"tool": TOOL, "user": f"u{i}", "team": "powertrain" if i % 4 else "body"},
                    headers={"X-Run-ID": "run-1"})
    fire(client, app, "firing")
    fire(client, app, "firing")                         # a repeat is not a second marker
    fire(client, app, "resolved")
    client.put(f"/api/config/tools/{TOOL}", json={"commit": 10, "max_overage": 10}, headers=admin)
    for seat in client.get("/api/borrows").get_json():
        client.post("/api/return", json={"id": seat["id"]})
    for i in range(4):
        client.post("/api/borrow", json={"tool": TOOL, "user": f"v{i}"}, headers={"X-Run-ID": "run-2"})
    body = client.get("/api/overview").get_json()
    incident = body["incident"]
    assert (incident["alert"], incident["tool"], incident["team"], incident["fixed"], incident["alert_resolved"]) \
        == ("HighOverageRate", TOOL, "powertrain", True, True)
    assert incident["to_detect_seconds"] is not None and incident["verification"]["borrows"] == 4
    assert body["threshold"] == 0.3 and body["focus_tool"] == TOOL
    assert sum(b[1] for b in body["series"][TOOL]) == 24 and sum(b[2] for b in body["series"][TOOL]) == 15
    assert [m["kind"] for m in body["markers"]] == ["alert_firing", "alert_resolved", "config_change"]
    assert "commit 5 → 10" in body["markers"][2]["text"]
    assert [(r["run_id"], r["borrows"], r["overage_share"], r["overage_cost"]) for r in body["runs"]] == \
        [("run-2", 4, 0.0, 0.0), ("run-1", 20, 0.75, 2250.0)]


def test_overview_refuses_bad_minutes(client):
    """A window that is not 1..120 minutes is a 400 with the project's error shape."""
    for bad in ("abc", "0", "500"):
        answer = client.get(f"/api/overview?minutes={bad}")
        assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_request", bad


def test_reset_closes_open_incidents_and_forgets_the_story(app, client, admin):
    """After POST /api/reset no incident is open (closed by the server, not resolved: nothing was
    verified) and the chart starts empty."""
    client.post("/api/borrow", json={"tool": TOOL, "user": "a"})
    fire(client, app, "firing")
    assert client.post("/api/reset", headers=admin).status_code == 200
    assert client.get("/api/incidents?status=open").get_json() == []
    [closed] = client.get("/api/incidents").get_json()
    assert (closed["status"], closed["state"], closed["waiting_for"]) == ("closed", "closed", None)
    assert (closed["timeline"][-1]["kind"], closed["timeline"][-1]["by"]) == ("closed", "license-server")
    assert closed["timeline"][-1]["detail"].startswith("closed by a reset")
    assert [i["id"] for i in client.get("/api/incidents?status=closed").get_json()] == [closed["id"]]
    assert client.get("/api/incidents?status=resolved").get_json() == []
    assert closed["durations"]["to_resolve_seconds"] is None
    body = client.get("/api/overview").get_json()
    assert (body["incident"], body["markers"], body["series"], body["runs"]) == (None, [], {}, [])


def test_approval_refuses_what_it_cannot_do(app, client, admin):
    """No CSRF token: 400; not logged in: back to the page with a hint; unknown proposal: 400."""
    fire(client, app, "firing")
    incident = client.get("/api/incidents").get_json()[0]["id"]
    client.patch(f"/api/incidents/{incident}", headers=admin, json={"report": {"markdown": "x", "actions": [
        {"id": "raise-commit", "title": "Raise commit", "request": {"method": "PUT",
                                                                    "path": "/api/config/tools/Nope", "json": {"commit": 1}}}]}})
    assert client.post(f"/incidents/{incident}/approve", data={"action": "raise-commit"}).status_code == 400
    page = client.get(f"/incidents/{incident}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/config").get_data(as_text=True)).group(1)
    assert "log in on /config" in page
    answer = client.post(f"/incidents/{incident}/approve", data={"action": "raise-commit", "csrf_token": token})
    assert answer.status_code == 303
    client.post("/config/login", data={"token": "test-admin-token", "csrf_token": token})
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/config").get_data(as_text=True)).group(1)
    unknown = client.post(f"/incidents/{incident}/approve", data={"action": "nope", "csrf_token": token})
    assert unknown.status_code == 400 and "has no proposal" in unknown.get_data(as_text=True)
    # A proposal for a tool that does not exist is approved but not applied, and says why.
    client.post(f"/incidents/{incident}/approve", data={"action": "raise-commit", "csrf_token": token})
    record = client.get(f"/api/incidents/{incident}").get_json()
    assert record["approvals"][0]["applied"] is False and "no tool 'Nope'" in record["approvals"][0]["result"]
    assert record["timeline"][-1]["kind"] == "note"
    # Once a reset closed the incident, nothing on it is applied any more.
    client.post("/api/reset", headers=admin)
    client.post(f"/incidents/{incident}/approve", data={"action": "raise-commit", "csrf_token": token})
    assert f"{incident} is closed: nothing to approve" in client.get(f"/incidents/{incident}").get_data(as_text=True)
    assert len(client.get(f"/api/incidents/{incident}").get_json()["approvals"]) == 1
