"""The incident API in process: create-or-join, reported events, durations, export, errors, and
the server alone resolving: a client's "resolved" is recorded and answered with what it waits for."""
from __future__ import annotations

import time


from license_server import incident_rule
from support.webhook_auth import alert, app_webhook_headers, notification

TOOL = "Vector - DaVinci Configurator SE"
BODY = {"alert": "HighOverageRate", "tool": "ETAS - INCA", "severity": "warning",
        "problem_started_at": 1_800_000_000, "alert_received_at": "2027-01-15T08:00:40Z"}


def kinds(incident: dict) -> list[str]:
    """The timeline's event kinds in order."""
    return [e["kind"] for e in incident["timeline"]]


def test_create_join_report_export_and_bad_input(client, admin):
    """One open incident per subject; reported events sorted and marked; durations; Markdown; errors."""
    assert client.post("/api/incidents", json=BODY).status_code == 401
    created = client.post("/api/incidents", json=BODY, headers=admin)
    assert created.status_code == 201
    incident = created.get_json()
    assert incident["id"] == "INC-0001" and incident["durations"]["to_detect_seconds"] == 40.0
    assert (incident["state"], incident["waiting_for"].split(":")[0]) == ("open", "a fix")
    again = client.post("/api/incidents", json={**BODY, "summary": "second look"}, headers=admin)
    assert again.status_code == 200 and again.get_json()["id"] == "INC-0001"
    assert again.get_json()["summary"] == "second look"

    patched = client.patch("/api/incidents/INC-0001", headers=admin, json={
        "events": [{"kind": "note", "at": 1_800_000_100, "by": "dana", "detail": "watching"},
                   {"kind": "action_applied", "at": 1_800_000_070, "detail": "commit 8 → 10"}],
        "report": {"markdown": "### facts\n| a | b |"}}).get_json()
    assert kinds(patched) == ["problem_started", "alert_received", "action_applied", "note"]
    assert all(e["reported"] for e in patched["timeline"])
    assert (patched["status"], patched["state"]) == ("open", "fix_applied")
    assert patched["waiting_for"].startswith("the fix to be verified: at least 20 borrows of ETAS - INCA")

    markdown = client.get("/incidents/INC-0001.md")
    assert markdown.headers["Content-Type"].startswith("text/markdown")
    text = markdown.get_data(as_text=True)
    assert "Time to detect: 40 s" in text and "Status: fix applied" in text
    assert "| 2027-01-15T08:01:10.000Z | Action applied |" in text
    page = client.get("/incidents").get_data(as_text=True)
    assert 'data-incident="INC-0001" data-status="open"' in page
    shown = client.get("/incidents/INC-0001").get_data(as_text=True)
    assert 'data-kind="action_applied"' in shown and 'id="waiting-for"' in shown

    bad = client.patch("/api/incidents/INC-0001", json={"events": [{"kind": "fixed"}]}, headers=admin)
    assert bad.status_code == 400 and "resolved" in bad.get_json()["detail"]
    # Only the server closes; a client cannot send the reset's event either.
    closing = client.patch("/api/incidents/INC-0001", json={"events": [{"kind": "closed"}]}, headers=admin)
    assert closing.status_code == 400 and "closed" not in closing.get_json()["detail"].split("among: ")[1]
    assert client.patch("/api/incidents/INC-9999", json={}, headers=admin).status_code == 404
    assert client.post("/api/incidents", json={"tool": "x"}, headers=admin).status_code == 400
    assert client.get("/incidents/INC-9999").status_code == 404


def test_a_clients_early_resolved_leaves_the_incident_open_and_says_why(app, client, admin):
    """The alert's incident: "resolved" and "verified" from a client before (and after) the fix
    are recorded as its reports, answered 200 with what the server waits for; only the
    server's verification of the load after the fix resolves it, with its own durations."""
    post = lambda status: client.post("/api/alerts/webhook", headers=app_webhook_headers(app), json=notification(
        status, alert("HighOverageRate", status, "f1", tool=TOOL)))
    store = app.extensions["store"]
    now = time.time()
    for i in range(20):
        store.borrow(TOOL, f"agent{i % 5}", "body-electronics", now=now - 30 + i)
    post("firing")
    [incident] = client.get("/api/incidents").get_json()

    early = client.patch(f"/api/incidents/{incident['id']}", headers=admin, json={
        "events": [{"kind": "resolved", "by": "alertmanager", "detail": "HighOverageRate resolved"}]})
    assert early.status_code == 200
    body = early.get_json()
    assert (body["status"], body["state"]) == ("open", "open")
    assert (body["timeline"][-1]["kind"], body["timeline"][-1]["by"]) == ("resolution_requested", "alertmanager")
    assert body["waiting_for"].startswith(f"a fix: a configuration change of {TOOL}")
    assert "at least 20 borrows" in body["waiting_for"] and "overage share under 30%" in body["waiting_for"]
    assert body["durations"]["to_resolve_seconds"] is None

    for seat in store.active_borrows():
        store.return_borrow(seat["id"], now=now)
    client.put(f"/api/config/tools/{TOOL}", json={"commit": 10, "max_overage": 10}, headers=admin)
    post("resolved")
    after_fix = client.patch(f"/api/incidents/{incident['id']}", headers=admin, json={
        "events": [{"kind": "verified", "by": "investigator", "detail": "metric recovered"},
                   {"kind": "resolved", "by": "investigator"}]}).get_json()
    assert (after_fix["status"], after_fix["state"]) == ("open", "fix_applied")
    assert kinds(after_fix)[-2:] == ["verification_reported", "resolution_requested"]
    assert after_fix["waiting_for"].startswith("the fix to be verified:")
    assert "so far 0 borrows" in after_fix["waiting_for"]

    fixed = time.time()
    for i in range(40):
        seat = store.borrow(TOOL, f"agent{i % 7}", "body-electronics", now=fixed + 1 + 2 * i)
        if i >= 6:
            store.return_borrow(seat["id"], now=fixed + 1.5 + 2 * i)
    assert incident_rule.verify_open_incidents(store, app.extensions["incident_policy"],
                                               now=fixed + 82) == [incident["id"]]
    done = client.get(f"/api/incidents/{incident['id']}").get_json()
    assert (done["status"], done["state"], done["waiting_for"]) == ("resolved", "resolved", None)
    server_events = [e for e in done["timeline"] if not e.get("reported")]
    assert [e["kind"] for e in server_events][-2:] == ["verified", "resolved"]
    assert all(e["by"] == "license-server" for e in server_events[-2:])
    assert done["durations"]["to_resolve_seconds"] > 80
