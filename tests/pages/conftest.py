"""Fixtures of the page tests: a projector-sized page in the shared Chromium, a fresh server."""
from __future__ import annotations

import pytest
import requests


@pytest.fixture()
def page(browser):
    """A fresh browser context (own cookies) and page, large like a projector screen."""
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture()
def server(server_factory):
    """A fresh license server (gunicorn, SQLite) for one test, its dashboard polling every second."""
    return server_factory(env={"DASHBOARD_REFRESH_MS": "1000"})


@pytest.fixture()
def api(server, admin_token, webhook_token):
    """Call the server's JSON API: api(method, path, json=None, admin=False) -> response.

    Posts to the alert webhook carry the webhook token, as Alertmanager's do.
    """
    session = requests.Session()

    def call(method: str, path: str, json=None, admin: bool = False) -> requests.Response:
        headers = {"Authorization": f"Bearer {admin_token}"} if admin else {}
        if path == "/api/alerts/webhook":
            headers = {"Authorization": f"Bearer {webhook_token}"}
        return session.request(method, server.url + path, json=json, headers=headers, timeout=10)

    yield call
    session.close()
