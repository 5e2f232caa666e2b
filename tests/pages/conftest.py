"""Browser fixtures for the page tests: one headless Debian Chromium per session."""
from __future__ import annotations

import shutil

import pytest
import requests

CHROMIUM = "/usr/bin/chromium"
# Headless as root on a machine without network: no sandbox, GPU, QUIC or background fetches.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, shared by every page test."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(scripts/install-system-deps.sh does it)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


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
def api(server, admin_token):
    """Call the server's JSON API: api(method, path, json=None, admin=False) -> response."""
    session = requests.Session()

    def call(method: str, path: str, json=None, admin: bool = False) -> requests.Response:
        headers = {"Authorization": f"Bearer {admin_token}"} if admin else {}
        return session.request(method, server.url + path, json=json, headers=headers, timeout=10)

    yield call
    session.close()
