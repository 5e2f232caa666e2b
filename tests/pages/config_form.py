"""Driving the /config form in Chromium, as the presenter does in the demo guide's Part 5."""
from __future__ import annotations

from playwright.sync_api import expect


def log_in(page, server_url: str, admin_token: str, name: str = "presenter") -> None:
    """Open /config and log in with the admin token (no-op when the session is already an admin)."""
    page.goto(server_url.rstrip("/") + "/config")
    if page.locator("form.login").count() == 0:
        return
    page.fill("form.login input[name=token]", admin_token)
    page.fill("form.login input[name=name]", name)
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    expect(page.locator("table.config-table")).to_be_visible()


def apply_config_in_form(page, server_url: str, admin_token: str, tool: str, commit: int, max_overage: int,
                         name: str = "presenter") -> None:
    """Log in on /config and save `commit` and `max_overage` for `tool` in its form row.

    Raises AssertionError (with the page's message) unless the page confirms the change.
    """
    log_in(page, server_url, admin_token, name)
    row = page.locator(f'tr[data-tool="{tool}"]')
    expect(row).to_have_count(1)
    row.locator("input[name=commit]").fill(str(commit))
    row.locator("input[name=max_overage]").fill(str(max_overage))
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    flash = page.locator(".flash")
    expect(flash.first).to_be_visible()
    text = " ".join(flash.all_inner_texts())
    assert f"Saved {tool}" in text or f"Nothing changed for {tool}" in text, text
    row = page.locator(f'tr[data-tool="{tool}"]')
    expect(row.locator("input[name=commit]")).to_have_value(str(commit))
    expect(row.locator("input[name=max_overage]")).to_have_value(str(max_overage))
