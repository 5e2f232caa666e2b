"""fly.toml as Fly reads it, checked against a real server."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import requests

from support.processes import free_port

REPO = Path(__file__).resolve().parents[2]
SERVER_PORT = 8000


def test_fly_toml_matches_the_server(server_factory):
    """fly.toml parses; health check on the public port, /metrics only on the internal one."""
    fly = tomllib.loads((REPO / "fly.toml").read_text())
    service = fly["http_service"]
    assert service["internal_port"] == int(fly["env"]["PORT"]) == SERVER_PORT
    metrics_port = fly["metrics"]["port"]
    assert metrics_port == int(fly["env"]["METRICS_PORT"]) != SERVER_PORT
    assert "services" not in fly, "no public service may expose the metrics port"
    assert fly["build"]["dockerfile"] == "Dockerfile"
    assert fly["mounts"]["destination"] == "/data"
    assert "DATABASE_URL" not in fly["env"], "a secret must be able to override the database"
    assert "ADMIN_TOKEN" not in fly["env"]
    # SQLite on a volume: one machine, none started on demand.
    assert service["min_machines_running"] == 1 and service["auto_start_machines"] is False
    check = service["checks"][0]
    assert check["method"] == "GET"
    port = free_port()
    server = server_factory(env={"METRICS_PORT": str(port)})
    assert requests.get(server.url + check["path"], timeout=5).status_code == 200
    public = requests.get(server.url + fly["metrics"]["path"], timeout=5)
    assert public.status_code == 404 and public.json()["error"] == "not_found"
    internal = f"http://127.0.0.1:{port}"
    metrics = requests.get(internal + fly["metrics"]["path"], timeout=5)
    assert metrics.status_code == 200 and "license_server_build_info" in metrics.text
    assert requests.get(internal + "/api/tools", timeout=5).status_code == 404
    readme = (REPO / "docs/dashboards-and-deployment.md").read_text()
    assert "fly secrets set ADMIN_TOKEN" in readme


def test_metrics_port_setting_is_checked():
    """A METRICS_PORT that is no port number stops the server with what to set instead."""
    from license_server.metrics_port import metrics_port
    assert metrics_port({}) is None and metrics_port({"METRICS_PORT": "9091"}) == 9091
    with pytest.raises(SystemExit, match="not a port number"):
        metrics_port({"METRICS_PORT": "metrics"})
