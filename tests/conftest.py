"""Fixtures shared by every test folder: a real license server process on loopback."""
from __future__ import annotations

import pytest

from license_demo.processes import start_license_server

ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def admin_token() -> str:
    """The admin token every server started by the tests is configured with."""
    return ADMIN_TOKEN


@pytest.fixture()
def server_factory(tmp_path_factory):
    """Start fresh license server processes (gunicorn, SQLite) and stop them afterwards."""
    started = []

    def start(env: dict | None = None, workers: int = 2):
        data_dir = tmp_path_factory.mktemp("server")
        server = start_license_server(data_dir, env={"ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})},
                                      workers=workers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
