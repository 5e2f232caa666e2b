"""Posting to Alertmanager's webhook on the license server, with its bearer token when one is set.

A server started with ALERT_WEBHOOK_TOKEN answers the webhook only with
`Authorization: Bearer <token>`; tests pass the token they configured (or the test app's).
"""
from __future__ import annotations

import requests

# The token the tests start their servers with.
WEBHOOK_TOKEN = "test-webhook-token"


def webhook_headers(token: str | None) -> dict:
    """The Authorization header for the webhook, or none when the server has no token."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def app_webhook_headers(app) -> dict:
    """The header a Flask test app (create_app) expects, from its configuration."""
    return webhook_headers(app.config.get("ALERT_WEBHOOK_TOKEN"))


def post_notification(server_url: str, payload: dict, token: str | None = WEBHOOK_TOKEN) -> dict:
    """POST a notification to a running server's webhook; its JSON answer (raises on errors)."""
    response = requests.post(server_url.rstrip("/") + "/api/alerts/webhook", json=payload,
                             headers=webhook_headers(token), timeout=10)
    response.raise_for_status()
    return response.json()


def notification(status: str, *alerts: dict) -> dict:
    """An Alertmanager version-4 webhook payload."""
    return {"version": "4", "groupKey": "{}:{alertname=\"x\"}", "truncatedAlerts": 0,
            "status": status, "receiver": "license-server", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": list(alerts)}


def alert(name: str, status: str, fingerprint: str, severity: str = "warning", **labels) -> dict:
    """One alert of a notification."""
    return {"status": status, "labels": {"alertname": name, "severity": severity, **labels},
            "annotations": {"summary": f"{name} summary", "runbook_url": "docs/runbooks.md"},
            "startsAt": "2026-11-23T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint}
