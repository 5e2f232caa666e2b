"""The dashboard in headless Chromium against a real server: tools, live refresh, colours, alerts."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

DAVINCI = "Vector - DaVinci Configurator SE"
INCA = "ETAS - INCA"
OK_GREEN, OVERAGE_AMBER, EXHAUSTED_RED = "rgb(46, 204, 113)", "rgb(255, 176, 32)", "rgb(255, 77, 79)"


def refresh_timeout(page) -> float:
    """One dashboard refresh interval plus time for the request and rendering, in ms."""
    return float(page.locator("body").get_attribute("data-refresh-ms")) + 2_000


def card(page, tool: str):
    """The dashboard card of one tool."""
    return page.locator(f'article.tool[data-tool="{tool}"]')


def webhook_payload(status: str) -> dict:
    """An Alertmanager (version 4) webhook notification for HighOverageRate on DaVinci."""
    alert = {
        "status": status,
        "labels": {"alertname": "HighOverageRate", "severity": "warning", "tool": DAVINCI},
        "annotations": {"summary": "Overage rate above 30 %",
                        "description": f"45 % of borrows of {DAVINCI} went to overage"},
        "startsAt": "2026-11-23T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-23T00:05:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": "6f1e2d3c4b5a6978",
    }
    return {"version": "4", "groupKey": '{}:{alertname="HighOverageRate"}', "truncatedAlerts": 0,
            "status": status, "receiver": "license-server",
            "groupLabels": {"alertname": "HighOverageRate"}, "commonLabels": alert["labels"],
            "commonAnnotations": alert["annotations"], "externalURL": "http://127.0.0.1:9093",
            "alerts": [alert]}


def test_root_redirects_to_dashboard_showing_every_tool(page, server, api):
    """`/` lands on /dashboard, which shows one card per tool of /api/tools, all green."""
    tools = api("GET", "/api/tools").json()
    assert len(tools) == 6
    page.goto(server.url + "/")
    assert page.url == server.url + "/dashboard"
    cards = page.locator("article.tool")
    expect(cards).to_have_count(6)
    assert cards.evaluate_all("cards => cards.map(c => c.dataset.tool)") == [t["name"] for t in tools]
    for tool in tools:
        one = card(page, tool["name"])
        expect(one).to_have_attribute("data-status", "ok")
        expect(one.locator(".value.available")).to_have_text(str(tool["available"]))
        expect(one.locator(".value.in-use")).to_have_text(f"0 / {tool['commit'] + tool['max_overage']}")
    expect(page.locator("#alerts")).to_be_hidden()


def test_borrow_through_api_shows_within_one_refresh(page, server, api):
    """A borrow made through the API appears on the open page without reloading it."""
    page.goto(server.url + "/dashboard")
    davinci = card(page, DAVINCI)
    expect(davinci.locator(".value.in-use")).to_have_text("0 / 20")
    page.evaluate("window.__sameDocument = true")
    response = api("POST", "/api/borrow", {"tool": DAVINCI, "user": "alice", "team": "powertrain"})
    assert response.status_code == 201
    expect(davinci.locator(".value.in-use")).to_have_text("1 / 20", timeout=refresh_timeout(page))
    expect(davinci.locator(".value.available")).to_have_text("19")
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded instead of refreshing"


def test_status_colours_follow_commit_overage_and_exhaustion(page, server, api):
    """Green within commit, amber once a seat is in overage (with its cost), red when exhausted."""
    changed = api("PUT", f"/api/config/tools/{INCA}",
                  {"commit": 1, "max_overage": 1, "overage_cost": 90}, admin=True)
    assert changed.status_code == 200, changed.text
    page.goto(server.url + "/dashboard")
    inca = card(page, INCA)
    timeout = refresh_timeout(page)

    assert api("POST", "/api/borrow", {"tool": INCA, "user": "bob"}).status_code == 201
    expect(inca.locator(".value.in-use")).to_have_text("1 / 2", timeout=timeout)
    expect(inca).to_have_attribute("data-status", "ok")
    expect(inca.locator(".status")).to_have_text("OK")
    expect(inca).to_have_css("border-left-color", OK_GREEN)

    assert api("POST", "/api/borrow", {"tool": INCA, "user": "carol"}).status_code == 201
    expect(inca).to_have_attribute("data-status", "exhausted", timeout=timeout)
    expect(inca.locator(".status")).to_have_text("EXHAUSTED")
    expect(inca).to_have_css("border-left-color", EXHAUSTED_RED)
    expect(inca.locator(".value.cost")).to_have_text("$90")

    # Raising the overage limit leaves the seat in overage but no longer exhausted: amber.
    api("PUT", f"/api/config/tools/{INCA}", {"max_overage": 3}, admin=True)
    expect(inca).to_have_attribute("data-status", "overage", timeout=timeout)
    expect(inca.locator(".status")).to_have_text("IN OVERAGE")
    expect(inca).to_have_css("border-left-color", OVERAGE_AMBER)
    expect(inca.locator(".value.available")).to_have_text("2")
    expect(page.locator("#total-cost")).to_have_text("$90")


def test_alert_banner_follows_alertmanager_webhook(page, server, api):
    """A firing webhook notification shows as a banner; its resolution removes it."""
    page.goto(server.url + "/dashboard")
    banner = page.locator("#alerts")
    expect(banner).to_be_hidden()
    assert api("POST", "/api/alerts/webhook", webhook_payload("firing")).status_code == 200
    expect(banner).to_be_visible(timeout=refresh_timeout(page))
    item = banner.locator('li[data-alertname="HighOverageRate"]')
    expect(item).to_contain_text("HighOverageRate")
    expect(item).to_contain_text(DAVINCI)
    expect(item).to_contain_text("Overage rate above 30 %")
    expect(item.locator(".severity")).to_have_text("WARNING")

    assert api("POST", "/api/alerts/webhook", webhook_payload("resolved")).status_code == 200
    expect(banner).to_be_hidden(timeout=refresh_timeout(page))


def test_dashboard_says_when_the_server_is_unreachable(page, server):
    """When a refresh fails the page says so instead of showing stale numbers silently."""
    page.goto(server.url + "/dashboard")
    expect(page.locator("#connection")).to_contain_text("updated")
    page.route("**/api/tools", lambda route: route.abort())
    expect(page.locator("#connection")).to_have_text("server unreachable, retrying",
                                                      timeout=refresh_timeout(page))
    page.unroute("**/api/tools")
    expect(page.locator("#connection")).to_contain_text("updated", timeout=refresh_timeout(page))
