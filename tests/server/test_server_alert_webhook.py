"""Alertmanager's webhook: authenticated, bounded; each alert's latest state kept, logged, counted, listed."""
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


def test_webhook_keeps_latest_state(client, webhook, scrape, capsys):
    """Firing then resolved: GET /api/alerts shows the latest state with received_at."""
    label = (("alertname", "HighOverageRate"), ("status", "firing"))
    before = scrape(client).get(("license_alert_notifications_total", label), 0)
    first = client.post("/api/alerts/webhook", headers=webhook, json=notification(
        "firing", alert("HighOverageRate", "firing", "aa11", tool=TOOL),
        alert("LicensesExhausted", "firing", "bb22", tool=TOOL)))
    assert first.status_code == 200 and first.get_json() == {"received": 2}
    firing = client.get("/api/alerts?status=firing").get_json()
    assert {a["labels"]["alertname"] for a in firing} == {"HighOverageRate", "LicensesExhausted"}
    assert all(a["received_at"] and a["annotations"]["summary"] for a in firing)

    client.post("/api/alerts/webhook", headers=webhook, json=notification(
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


def test_webhook_refuses_malformed_payloads(client, webhook):
    """Payloads that are not Alertmanager's shape answer 400 and store nothing."""
    for body in ({}, {"status": "firing"}, {"status": "weird", "alerts": []},
                 notification("firing", {"status": "firing"}),
                 notification("firing", {**alert("X", "firing", "cc"), "status": "pending"})):
        answer = client.post("/api/alerts/webhook", json=body, headers=webhook)
        assert answer.status_code == 400, body
        assert answer.get_json()["error"] == "invalid_request"
    assert client.get("/api/alerts").get_json() == []
    assert client.get("/api/alerts?status=bogus").status_code == 400


def test_webhook_needs_the_token(app_factory, client, webhook, admin):
    """No token, a wrong one or the admin token: 401 and nothing stored; unconfigured: 403."""
    body = notification("firing", alert("HighOverageRate", "firing", "ff01", tool=TOOL))
    for headers in ({}, {"Authorization": "Bearer wrong"}, admin, {"Authorization": "Basic x"}):
        answer = client.post("/api/alerts/webhook", json=body, headers=headers)
        assert answer.status_code == 401 and answer.get_json()["error"] == "unauthorized"
        assert "ALERT_WEBHOOK_TOKEN" in answer.get_json()["detail"]
    assert client.get("/api/alerts").get_json() == []
    assert client.post("/api/alerts/webhook", json=body, headers=webhook).status_code == 200

    closed = app_factory(ALERT_WEBHOOK_TOKEN=None).test_client()
    answer = closed.post("/api/alerts/webhook", json=body, headers=webhook)
    assert answer.status_code == 403 and "ALERT_WEBHOOK_TOKEN" in answer.get_json()["detail"]


def test_webhook_token_file_is_read(app_factory, tmp_path, webhook):
    """ALERT_WEBHOOK_TOKEN_FILE names a file holding the token (as compose mounts it)."""
    from license_server.config import from_environment
    secret = tmp_path / "webhook-token"
    secret.write_text("from-a-file\n")
    settings = from_environment({"ALERT_WEBHOOK_TOKEN_FILE": str(secret)})
    assert settings["ALERT_WEBHOOK_TOKEN"] == "from-a-file"
    client = app_factory(ALERT_WEBHOOK_TOKEN=settings["ALERT_WEBHOOK_TOKEN"]).test_client()
    body = notification("firing", alert("HighOverageRate", "firing", "ff02"))
    assert client.post("/api/alerts/webhook", json=body,
                       headers={"Authorization": "Bearer from-a-file"}).status_code == 200
    missing = tmp_path / "nowhere"
    try:
        from_environment({"ALERT_WEBHOOK_TOKEN_FILE": str(missing)})
    except ValueError as exc:
        assert "ALERT_WEBHOOK_TOKEN_FILE" in str(exc) and "readable file" in str(exc)
    else:
        raise AssertionError("an unreadable token file must stop the server")


def test_alert_fields_are_bounded_and_unknown_names_count_as_other(client, webhook, scrape):
    """Made-up alert names are stored but counted as "other"; oversized fields are refused."""
    import rule_source
    from license_server.config import from_environment
    known = rule_source.load(from_environment()["ALERT_RULES_FILE"]).alert_names
    assert {"HighOverageRate", "LicensesExhausted", "LicenseServerDown"} <= known
    made_up = [alert(f"Fake{i}", "firing", f"fake{i}") for i in range(100)]
    assert client.post("/api/alerts/webhook", headers=webhook,
                       json=notification("firing", *made_up)).status_code == 200
    names = {dict(labels)["alertname"] for name, labels in scrape(client)
             if name == "license_alert_notifications_total"}
    assert names <= known | {"other"} and "other" in names
    assert scrape(client)[("license_alert_notifications_total",
                           (("alertname", "other"), ("status", "firing")))] == 100
    for oversized in (alert("X" * 129, "firing", "big1"),
                      {**alert("HighOverageRate", "firing", "big2"),
                       "annotations": {"summary": "s" * 9000}},
                      {**alert("HighOverageRate", "firing", "big3"),
                       "labels": {f"l{i}": "v" for i in range(65)}}):
        answer = client.post("/api/alerts/webhook", headers=webhook,
                             json=notification("firing", oversized))
        assert answer.status_code == 400, oversized["labels"].get("alertname", "")[:20]
    assert client.post("/api/alerts/webhook", headers=webhook, json=notification(
        "firing", *[alert("HighOverageRate", "firing", f"n{i}") for i in range(201)])).status_code == 400
    assert len(client.get("/api/alerts").get_json()) == 100
