"""Fixtures of the scenario tests: a headless Chromium for the dashboard's error reporting."""
from __future__ import annotations

import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
# Headless as root on a machine without network: no sandbox, GPU, QUIC or background fetches.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright for the tests of this folder."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()
