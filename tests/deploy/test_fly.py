"""fly.toml as Fly reads it, checked against a real server."""
from __future__ import annotations

import tomllib
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
SERVER_PORT = 8000


def test_fly_toml_matches_the_server(server_factory):
    """fly.toml parses; its health check and metrics path answer on a real server, same port."""
    fly = tomllib.loads((REPO / "fly.toml").read_text())
    service = fly["http_service"]
    assert service["internal_port"] == fly["metrics"]["port"] == SERVER_PORT
    assert int(fly["env"]["PORT"]) == SERVER_PORT
    assert fly["build"]["dockerfile"] == "Dockerfile"
    assert fly["mounts"]["destination"] == "/data"
    assert "DATABASE_URL" not in fly["env"], "a secret must be able to override the database"
    assert "ADMIN_TOKEN" not in fly["env"]
    check = service["checks"][0]
    assert check["method"] == "GET"
    server = server_factory()
    assert requests.get(server.url + check["path"], timeout=5).status_code == 200
    metrics = requests.get(server.url + fly["metrics"]["path"], timeout=5)
    assert metrics.status_code == 200 and "license_server_build_info" in metrics.text
    readme = (REPO / "docs/dashboards-and-deployment.md").read_text()
    assert "fly secrets set ADMIN_TOKEN" in readme
