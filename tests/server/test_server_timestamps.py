"""Every time the API answers is RFC 3339 UTC with milliseconds, from license_server.timestamps."""
from __future__ import annotations

import re
from datetime import datetime


from license_server.timestamps import iso
from support.webhook_auth import alert, app_webhook_headers, notification

TOOL = "Vector - DaVinci Configurator SE"
WIRE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_iso_keeps_milliseconds_and_utc():
    """Whole seconds still show .000; the clients' parser reads the value back to the millisecond."""
    assert iso(None) is None
    assert iso(0) == "1970-01-01T00:00:00.000Z"
    assert iso(1_800_000_000.4567) == "2027-01-15T08:00:00.456Z"
    back = datetime.fromisoformat(iso(1_800_000_000.25).replace("Z", "+00:00")).timestamp()
    assert back == 1_800_000_000.25


def test_every_api_time_has_the_wire_format(app, client, admin):
    """Borrows, returns, alerts, status, incidents, runs and the demo controls all use one format."""
    assert client.post("/api/reset", headers=admin).status_code == 200
    seat = client.post("/api/borrow", json={"tool": TOOL, "user": "ana", "lease_seconds": 60},
                       headers={"X-Run-ID": "run-1"}).get_json()
    returned = client.post("/api/return", json={"id": seat["id"]}).get_json()
    client.post("/api/alerts/webhook", headers=app_webhook_headers(app),
                json=notification("firing", alert("HighOverageRate", "firing", "f1", tool=TOOL)))
    incident = client.post("/api/incidents", headers=admin, json={
        "alert": "SeatsExhausted", "tool": TOOL, "problem_started_at": 1_800_000_000}).get_json()
    fault = client.get("/api/faults").get_json()[0]
    switched = client.put(f"/api/faults/{fault['name']}", headers=admin,
                          json={"variant": fault["variants"][1]}).get_json()
    deployed = client.post("/api/deployments", headers=admin,
                           json={"version": "1.1", "commit": "abc"}).get_json()
    mark = client.post("/api/demo/marks", headers=admin, json={"journey": "s", "act": "a"}).get_json()
    runs = client.get("/api/overview").get_json()["runs"]

    times = {"borrowed_at": seat["borrowed_at"], "expires_at": seat["expires_at"],
             "returned_at": returned["returned_at"],
             "received_at": client.get("/api/alerts").get_json()[0]["received_at"],
             "last_reset_at": client.get("/api/status").get_json()["last_reset_at"],
             "opened_at": incident["opened_at"], "timeline at": incident["timeline"][0]["at"],
             "fault since": switched["since"], "deployed_at": deployed["current"]["deployed_at"],
             "mark at": mark["at"], "run started_at": runs[0]["started_at"],
             "run ended_at": runs[0]["ended_at"]}
    wrong = {field: value for field, value in times.items() if not WIRE.match(str(value))}
    assert not wrong, f"not RFC 3339 UTC with milliseconds: {wrong}"
