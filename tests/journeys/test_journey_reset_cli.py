"""`license-demo reset`: seats, config and faults back to the fresh demo state; clear errors."""
from __future__ import annotations

import requests

from license_demo import cli
from support.webhook_auth import alert, notification, post_notification

TOOL = "Vector - DaVinci Configurator SE"


def test_reset_frees_seats_restores_config_and_switches_faults_off(server_factory, admin_token, capsys):
    """After a journey's changes, one command brings back the starting point; the server closes
    the open incident (nothing was verified)."""
    server = server_factory()
    auth = {"Authorization": f"Bearer {admin_token}"}
    requests.put(f"{server.url}/api/config/tools/{TOOL}", json={"commit": 10}, headers=auth, timeout=10)
    requests.post(f"{server.url}/api/borrow", json={"tool": TOOL, "user": "anna"}, timeout=10)
    requests.put(f"{server.url}/api/faults/borrow_latency", json={"variant": "250ms"}, headers=auth, timeout=10)
    post_notification(server.url, notification("firing", alert("HighOverageRate", "firing", "f1", tool=TOOL)))
    assert cli.main(["reset", "--server", server.url, "--admin-token", admin_token]) == 0
    out = capsys.readouterr().out
    assert "fresh demo state" in out and "Open incidents closed (nothing verified): INC-0001." in out
    [incident] = requests.get(f"{server.url}/api/incidents", timeout=10).json()
    assert (incident["status"], incident["timeline"][-1]["kind"]) == ("closed", "closed")
    assert requests.get(f"{server.url}/api/borrows", timeout=10).json() == []
    assert requests.get(f"{server.url}/api/tools/{TOOL}", timeout=10).json()["commit"] == 5
    assert all(f["variant"] == "off" for f in requests.get(f"{server.url}/api/faults", timeout=10).json())


def test_reset_without_token_says_what_to_do(server_factory, capsys, monkeypatch):
    """No admin token: a clear error and a non-zero exit, nothing changed."""
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    server = server_factory()
    assert cli.main(["reset", "--server", server.url]) == 1
    assert "ADMIN_TOKEN" in capsys.readouterr().out


def test_journey_against_a_missing_server_explains(capsys):
    """No server at the address: the journey stops at once with the next step to take."""
    code = cli.main(["journey", "friday-crisis", "--mode", "auto", "--server", "http://127.0.0.1:9",
                     "--admin-token", "x"])
    assert code == 1
    assert "license-demo stack" in capsys.readouterr().out
