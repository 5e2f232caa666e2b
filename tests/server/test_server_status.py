"""GET /api/status: when the demo state was last reset, and the version running."""
from __future__ import annotations

import time
from datetime import datetime


def test_status_says_never_reset_then_the_time_of_the_last_reset(client, admin):
    first = client.get("/api/status")
    assert first.status_code == 200
    assert first.get_json()["last_reset_at"] is None
    assert first.get_json()["version"]
    before = time.time()
    assert client.post("/api/reset", headers=admin).status_code == 200
    body = client.get("/api/status").get_json()
    at = datetime.fromisoformat(body["last_reset_at"].replace("Z", "+00:00")).timestamp()
    assert body["last_reset_at"].endswith("Z")
    assert before - 1 <= at <= time.time() + 1


def test_status_reports_the_deployed_version_and_is_documented(client, admin):
    client.post("/api/deployments", headers=admin, json={"version": "2.0.0", "commit": "abc1234"})
    assert client.get("/api/status").get_json()["version"] == "2.0.0"
    spec = client.get("/openapi.json").get_json()
    assert "/api/status" in spec["paths"]
    assert set(spec["components"]["schemas"]["ServerStatus"]["properties"]) == {"last_reset_at", "version"}
