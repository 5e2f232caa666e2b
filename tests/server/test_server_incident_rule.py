"""The incident rule for incidents the server cannot measure from its borrows: an alert without a
tool waits for the alert to resolve after the fix; an incident no alert backs takes a reported
verification after the fix. Whoever reports, a bare "resolved" changes nothing."""
from __future__ import annotations

from support.webhook_auth import alert, app_webhook_headers, notification


def hoarding(client, app, status: str) -> None:
    """Alertmanager's notification of SingleUserHoarding for user hog."""
    answer = client.post("/api/alerts/webhook", headers=app_webhook_headers(app), json=notification(
        status, alert("SingleUserHoarding", status, "hog", user="hog", team="adas")))
    assert answer.status_code == 200


def report(client, admin, incident_id: str, *events: dict) -> dict:
    """PATCH events as a client; the answer."""
    answer = client.patch(f"/api/incidents/{incident_id}", json={"events": list(events)}, headers=admin)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_alert_without_a_tool_resolves_when_its_alert_resolves_after_the_fix(app, client, admin):
    """Resolved before any fix: open. A reported force-return is the fix; the alert resolving
    after it is the verification, and the webhook's notification resolves it at once."""
    hoarding(client, app, "firing")
    [incident] = client.get("/api/incidents").get_json()
    hoarding(client, app, "resolved")                       # e.g. the user returned by hand
    hoarding(client, app, "firing")
    body = report(client, admin, incident["id"], {"kind": "resolved", "by": "investigator"})
    assert (body["status"], body["waiting_for"].split(";")[0]) == ("open", "a fix: an action applied")

    body = report(client, admin, incident["id"], {"kind": "action_applied", "by": "investigator",
                                                  "detail": "force-return: freed 12 seats of hog"})
    assert (body["state"], body["waiting_for"]) == (
        "fix_applied", "the fix to be verified: SingleUserHoarding resolved after the fix (Alertmanager's "
                       "resolved notification); so far SingleUserHoarding not yet resolved after the fix")
    hoarding(client, app, "resolved")
    done = client.get(f"/api/incidents/{incident['id']}").get_json()
    assert (done["status"], [e["kind"] for e in done["timeline"]][-2:]) == ("resolved", ["verified", "resolved"])
    assert done["timeline"][-2]["detail"] == "SingleUserHoarding resolved after the fix (Alertmanager)"


def test_incident_no_alert_backs_takes_a_verification_reported_after_the_fix(client, admin):
    """A hand-started investigation: resolved alone or verified before the fix leave it open."""
    opened = client.post("/api/incidents", json={"alert": "ManualInvestigation", "tool": "ETAS - INCA"},
                         headers=admin).get_json()
    body = report(client, admin, opened["id"], {"kind": "verified", "detail": "too early"},
                  {"kind": "resolved"})
    assert body["status"] == "open"
    body = report(client, admin, opened["id"], {"kind": "action_applied", "detail": "commit 8 → 10"})
    assert body["waiting_for"].endswith("no alert backs this incident and no verification was reported after the fix")
    body = report(client, admin, opened["id"], {"kind": "verified", "by": "investigator",
                                                "detail": "overage share 10% < 30%"})
    assert body["status"] == "resolved" and body["waiting_for"] is None
    assert body["timeline"][-2]["detail"] == ("no alert backs this incident; verified as investigator reported: "
                                              "overage share 10% < 30%")
