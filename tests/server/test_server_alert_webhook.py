"""Alertmanager's webhook: each alert's latest state is kept, logged, counted and listed."""
from __future__ import annotations

import json

TOOL = "Vector - DaVinci Configurator SE"


def notification(status: str, *alerts: dict) -> dict:
    """An Alertmanager version-4 webhook payload."""
    return {"version": "4", "groupKey": "{}:{alertname=\"x\"}", "truncatedAlerts": 0,
            "status": status, "receiver": "license-server", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": list(alerts)}


def alert(name: str, status: str, fingerprint: str, **labels) -> dict:
    """One alert of a notification."""
    return {"status": status, "labels": {"alertname": name, "severity": "warning", **labels},
            "annotations": {"summary": f"{name} summary", "runbook_url": "docs/runbooks.md"},
            "startsAt": "2026-11-23T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint}


def test_webhook_keeps_latest_state(client, scrape, capsys):
    """Firing then resolved: GET /api/alerts shows the latest state with received_at."""
    label = (("alertname", "HighOverageRate"), ("status", "firing"))
    before = scrape(client).get(("license_alert_notifications_total", label), 0)
    first = client.post("/api/alerts/webhook", json=notification(
        "firing", alert("HighOverageRate", "firing", "aa11", tool=TOOL),
        alert("LicensesExhausted", "firing", "bb22", tool=TOOL)))
    assert first.status_code == 200 and first.get_json() == {"received": 2}
    firing = client.get("/api/alerts?status=firing").get_json()
    assert {a["labels"]["alertname"] for a in firing} == {"HighOverageRate", "LicensesExhausted"}
    assert all(a["received_at"] and a["annotations"]["summary"] for a in firing)

    client.post("/api/alerts/webhook", json=notification(
        "resolved", alert("LicensesExhausted", "resolved", "bb22", tool=TOOL)))
    assert [a["labels"]["alertname"] for a in client.get("/api/alerts?status=firing").get_json()] \
        == ["HighOverageRate"]
    resolved = client.get("/api/alerts?status=resolved").get_json()
    assert [(a["labels"]["alertname"], a["status"]) for a in resolved] == \
        [("LicensesExhausted", "resolved")]
    assert len(client.get("/api/alerts").get_json()) == 2

    assert scrape(client)[("license_alert_notifications_total", label)] - before == 1
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines() if l.startswith("{")]
    logged = [(l["alertname"], l["status"]) for l in lines if l.get("event") == "alert_notification"]
    assert logged == [("HighOverageRate", "firing"), ("LicensesExhausted", "firing"),
                      ("LicensesExhausted", "resolved")]


def test_webhook_refuses_malformed_payloads(client):
    """Payloads that are not Alertmanager's shape answer 400 and store nothing."""
    for body in ({}, {"status": "firing"}, {"status": "weird", "alerts": []},
                 notification("firing", {"status": "firing"}),
                 notification("firing", {**alert("X", "firing", "cc"), "status": "pending"})):
        answer = client.post("/api/alerts/webhook", json=body)
        assert answer.status_code == 400, body
        assert answer.get_json()["error"] == "invalid_request"
    assert client.get("/api/alerts").get_json() == []
    assert client.get("/api/alerts?status=bogus").status_code == 400
