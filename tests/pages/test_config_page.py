"""The config page in headless Chromium: login, form changes, bad input, history, CSRF, logout."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

DAVINCI = "Vector - DaVinci Configurator SE"


def tool_of(api, name: str) -> dict:
    """One tool as /api/tools reports it."""
    return next(tool for tool in api("GET", "/api/tools").json() if tool["name"] == name)


def row(page, tool: str):
    """The config table row of one tool."""
    return page.locator(f'tr[data-tool="{tool}"]')


def log_in(page, server, token: str, name: str = "presenter"):
    """Open /config and submit the login form; return the login response's status."""
    page.goto(server.url + "/config")
    page.fill("input[name=token]", token)
    page.fill("input[name=name]", name)
    with page.expect_navigation() as navigation:
        page.click("form.login button[type=submit]")
    return navigation.value.status if navigation.value else None


def test_wrong_token_is_refused(page, server, api):
    """A wrong token keeps the visitor on the login form with a message, no tool form shown."""
    status = log_in(page, server, "not-the-token")
    assert status == 401
    expect(page.locator("#login-error")).to_contain_text("admin token is not right")
    expect(page.locator("table.config-table")).to_have_count(0)
    page.goto(server.url + "/config")
    expect(page.locator("input[name=token]")).to_be_visible()


def test_form_change_takes_effect_and_enters_history(page, server, api, admin_token):
    """Commit 5 → 10 and overage 15 → 10 through the form: the API and the history show it."""
    assert log_in(page, server, admin_token, name="presenter") == 200
    davinci = row(page, DAVINCI)
    davinci.locator("input[name=commit]").fill("10")
    davinci.locator("input[name=max_overage]").fill("10")
    with page.expect_navigation():
        davinci.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text(f"Saved {DAVINCI}")

    tool = tool_of(api, DAVINCI)
    assert (tool["commit"], tool["max_overage"]) == (10, 10)
    expect(row(page, DAVINCI).locator("input[name=commit]")).to_have_value("10")
    history = page.locator("table.history-table tbody tr")
    expect(history).to_have_count(2)
    texts = history.all_inner_texts()
    assert any("presenter" in text and DAVINCI in text and "commit seats: 5 → 10" in text for text in texts), texts
    assert any("max overage seats: 15 → 10" in text for text in texts), texts


def test_bad_input_is_explained_and_keeps_what_was_typed(page, server, api, admin_token):
    """Negative and fractional seats and a price over the API's cap are refused per field; typed
    values stay; nothing changes."""
    log_in(page, server, admin_token)
    before = tool_of(api, DAVINCI)
    davinci = row(page, DAVINCI)
    davinci.locator("input[name=commit]").fill("-3")
    davinci.locator("input[name=max_overage]").fill("2.5")
    davinci.locator("input[name=overage_cost]").fill("300")
    davinci.locator("input[name=commit_cost_monthly]").fill("2000000")
    with page.expect_navigation() as navigation:
        davinci.locator("button[type=submit]").click()
    assert navigation.value.status == 400
    davinci = row(page, DAVINCI)
    expect(davinci.locator(".field-error")).to_have_count(3)
    expect(davinci.locator("td", has=page.locator("input[name=commit_cost_monthly]"))).to_contain_text(
        "from 0 to 1,000,000")
    expect(davinci.locator("input[name=commit]")).to_have_attribute("aria-invalid", "true")
    expect(davinci.locator("td", has=page.locator("input[name=commit]"))).to_contain_text("whole number")
    expect(davinci.locator("input[name=commit]")).to_have_value("-3")
    expect(davinci.locator("input[name=max_overage]")).to_have_value("2.5")
    expect(davinci.locator("input[name=overage_cost]")).to_have_value("300")
    expect(davinci.locator("input[name=commit_cost_monthly]")).to_have_value("2000000")
    assert tool_of(api, DAVINCI) == before
    expect(page.locator("table.history-table")).to_have_count(0)


def test_post_without_csrf_token_is_refused(page, server, api, admin_token):
    """With a valid admin session, a POST lacking (or faking) the form's CSRF token changes nothing."""
    log_in(page, server, admin_token)
    before = tool_of(api, DAVINCI)
    fields = {"tool": DAVINCI, "commit": "50", "max_overage": "0", "overage_cost": "1",
              "commit_cost_monthly": "1"}
    missing = page.request.post(server.url + "/config", form=fields)
    forged = page.request.post(server.url + "/config", form={**fields, "csrf_token": "forged"})
    assert missing.status == 400 and forged.status == 400
    assert "security token" in missing.text()
    assert tool_of(api, DAVINCI) == before
    # The same request with the page's token goes through: the refusal was about the token.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    accepted = page.request.post(server.url + "/config", form={**fields, "csrf_token": token})
    assert accepted.ok
    assert tool_of(api, DAVINCI)["commit"] == 50
    # A tampered hidden field in the real form: the site's page with the sentence, not JSON.
    page.goto(server.url + "/config")
    davinci = row(page, DAVINCI)
    davinci.locator("input[name=csrf_token]").evaluate("field => field.value = 'tampered'")
    davinci.locator("input[name=commit]").fill("9")
    with page.expect_navigation() as navigation:
        davinci.locator("button[type=submit]").click()
    assert navigation.value.status == 400
    expect(page.locator("#error-detail")).to_contain_text("missing its security token or it has expired")
    expect(page.locator("#error-back")).to_have_attribute("href", "/config")
    assert tool_of(api, DAVINCI)["commit"] == 50


def test_logout_ends_the_admin_session(page, server, api, admin_token):
    """After logging out, the form is gone, a replayed change is refused, and a form left open
    in another tab answers with a page saying to reload /config, linking back to it."""
    log_in(page, server, admin_token)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    left_open = page.context.new_page()
    left_open.goto(server.url + "/config")
    row(left_open, DAVINCI).locator("input[name=commit]").fill("8")
    with page.expect_navigation():
        page.click("form.logout button[type=submit]")
    expect(page.locator("input[name=token]")).to_be_visible()
    replay = page.request.post(server.url + "/config",
                               form={"tool": DAVINCI, "commit": "7", "max_overage": "1",
                                     "overage_cost": "1", "commit_cost_monthly": "1",
                                     "csrf_token": token})
    assert replay.status in (400, 401)
    assert tool_of(api, DAVINCI)["commit"] == 5
    with left_open.expect_navigation() as navigation:
        row(left_open, DAVINCI).locator("button[type=submit]").click()
    assert navigation.value.status == 400
    expect(left_open.locator("#error-detail")).to_have_text(
        "This form is missing its security token or it has expired. Reload /config and submit the form again.")
    expect(left_open.locator("#error-unchanged")).to_be_visible()
    with left_open.expect_navigation():
        left_open.click("#error-back")
    expect(left_open.locator("input[name=token]")).to_be_visible()
    assert tool_of(api, DAVINCI)["commit"] == 5
