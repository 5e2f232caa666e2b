"""Headless Chromium for the backup deck and the page tests: Debian's binary driven by Playwright."""
from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless as root on a machine without network: no sandbox, GPU, QUIC or background fetches.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class BrowserMissing(RuntimeError):
    """Chromium or Playwright is not installed; the message says how to install it."""


def require_chromium() -> str:
    """The Chromium executable, or a BrowserMissing saying what to install."""
    if not shutil.which(CHROMIUM):
        raise BrowserMissing(f"{CHROMIUM} is missing: install Debian's chromium package "
                             "(scripts/install-system-deps.sh does it) or set CHROMIUM to another Chromium")
    return CHROMIUM


def require_playwright() -> None:
    """Fail with BrowserMissing unless Playwright and Chromium are both installed."""
    try:
        import playwright.sync_api  # noqa: F401 - only checking that it is installed
    except ImportError as exc:
        raise BrowserMissing("Playwright is missing: `make venv` (or `pip install playwright`) installs it") from exc
    require_chromium()


def launch(playwright):
    """Launch headless Chromium with the project's arguments from a started Playwright."""
    return playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_ARGS)
