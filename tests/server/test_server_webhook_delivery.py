"""Alertmanager delivers to the authenticated webhook of the native stack; nobody else can."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

pytestmark = pytest.mark.stack


def test_alertmanager_delivers_with_the_token_and_strangers_are_refused(native_stack):
    """An alert posted to Alertmanager reaches the server; the same post without the token is 401."""
    stack = native_stack
    token_file = stack.data_dir / "config" / "secrets" / "webhook-token"
    assert token_file.read_text() == stack.webhook_token and token_file.stat().st_mode & 0o077 == 0
    now = datetime.now(timezone.utc)
    # Info severity goes to the server's webhook only; the test resolves it at the end.
    alert = {"labels": {"alertname": "WebhookDeliveryCheck", "severity": "info"},
             "annotations": {"summary": "delivery check"},
             "startsAt": now.isoformat(), "endsAt": (now + timedelta(seconds=60)).isoformat()}
    since = time.time() - 1
    requests.post(f"{stack.alertmanager_url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()
    received = stack.wait_for_webhook("WebhookDeliveryCheck", since=since, timeout=60)
    assert received["annotations"]["summary"] == "delivery check"

    forged = {"version": "4", "status": "firing", "receiver": "license-server",
              "alerts": [{**alert, "status": "firing", "fingerprint": received.get("fingerprint"),
                          "annotations": {"summary": "FAKE"}}]}
    for headers in ({}, {"Authorization": f"Bearer {stack.admin_token}"}):
        answer = requests.post(f"{stack.server_url}/api/alerts/webhook", json=forged,
                               headers=headers, timeout=10)
        assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
    assert all(a["annotations"].get("summary") != "FAKE" for a in stack.alerts_received())
    ended = {**alert, "endsAt": datetime.now(timezone.utc).isoformat()}
    requests.post(f"{stack.alertmanager_url}/api/v2/alerts", json=[ended], timeout=10).raise_for_status()
