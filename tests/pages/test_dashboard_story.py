"""The dashboard tells the incident's story on a projector: the open incident stays in view
after the alert resolves, the verification chart and runs table show the fix, and with many
alerts firing the banner stays compact and every card, figure and name fits at 1280x720 and
1024x768 (checked on the element boxes; screenshots kept in the test's folder)."""
from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import expect
from support.webhook_auth import WEBHOOK_TOKEN, alert, notification, post_notification

pytestmark = pytest.mark.browser

DAVINCI = "Vector - DaVinci Configurator SE"
ADMIN = {"Authorization": "Bearer test-admin-token"}

# For every figure and tool name: does its content fit its box, and does a word break across lines?
BOXES_JS = """() => {
  const clipped = [...document.querySelectorAll('article.tool .value, article.tool .tool-name, #incident .fact')]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent);
  const broken = [];
  for (const name of document.querySelectorAll('article.tool .tool-name')) {
    const text = name.textContent;
    const walker = document.createTreeWalker(name, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/[^\\s\\/]+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(text + ': ' + match[0]);
      }
    }
  }
  const tops = [...document.querySelectorAll('article.tool')].map(c => c.getBoundingClientRect().top);
  return {clipped, broken, tops};
}"""


@pytest.fixture()
def story_server(server_factory):
    """A server whose webhook asks for the test token (when the server checks one)."""
    return server_factory(env={"DASHBOARD_REFRESH_MS": "1000", "ALERT_WEBHOOK_TOKEN": WEBHOOK_TOKEN})


def borrow(url: str, tool: str, user: str, team: str = "powertrain", run: str | None = None) -> requests.Response:
    """POST /api/borrow, optionally marked with a run id."""
    return requests.post(url + "/api/borrow", json={"tool": tool, "user": user, "team": team},
                         headers={"X-Run-ID": run} if run else {}, timeout=10)


def test_many_alerts_keep_cards_and_figures_in_view(browser, story_server, tmp_path):
    """14 alerts over six tools: one banner line per alert name, the incident's first; cards on screen."""
    url = story_server.url
    tools = [t["name"] for t in requests.get(url + "/api/tools", timeout=10).json()]
    for tool in tools:           # every tool exhausted with a large bill, as in the Friday crisis
        requests.put(f"{url}/api/config/tools/{tool}", json={"overage_cost": 99_999}, headers=ADMIN, timeout=10)
        config = requests.get(f"{url}/api/tools/{tool}", timeout=10).json()
        for i in range(config["commit"] + config["max_overage"]):
            assert borrow(url, tool, f"u{i}").status_code == 201
    alerts = [alert("HighOverageRate", "firing", "h0", tool=DAVINCI)]
    for index, tool in enumerate(tools):
        alerts.append(alert("LicensesExhausted", "firing", f"e{index}", severity="critical", tool=tool))
        if index < 5:
            alerts.append(alert("OverageLimitReached", "firing", f"o{index}", severity="critical", tool=tool))
    alerts += [alert("SingleUserHoarding", "firing", "s1", user="u1", team="powertrain"),
               alert("HighOverageRate", "firing", "syn", tool=tools[1], synthetic="true")]
    assert len(alerts) == 14
    post_notification(url, notification("firing", *alerts))

    for width, height in ((1280, 720), (1024, 768)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(url + "/dashboard")
        expect(page.locator("#incident")).to_be_visible(timeout=5_000)
        expect(page.locator("#alert-list li").first).to_be_visible()
        page.screenshot(path=str(tmp_path / f"dashboard-{width}x{height}.png"))
        names = page.locator("#alert-list li").evaluate_all("items => items.map(i => i.dataset.alertname)")
        # The first incident opened is the most severe one: its alert leads the banner.
        incident_alert = page.locator("#incident-alert").inner_text().split(" ", 1)[1]
        critical = {"LicensesExhausted", "OverageLimitReached"}
        assert names[0] == incident_alert and set(names[:2]) == critical, names
        assert set(names[2:]) == {"HighOverageRate", "SingleUserHoarding"}, names
        assert "synthetic" not in page.locator("#alerts").inner_text()
        boxes = page.evaluate(BOXES_JS)
        assert boxes["clipped"] == [] and boxes["broken"] == [], (width, boxes)
        assert len(boxes["tops"]) == 6 and all(0 <= top < height for top in boxes["tops"]), (width, boxes["tops"])
        context.close()


def test_incident_stays_in_view_and_the_chart_shows_the_fix(page, story_server):
    """Alert fires and resolves: the incident stays; the fix and a calmer rerun show on chart and table."""
    url = story_server.url
    for i in range(20):                       # run 1: 15 of 20 borrows in overage
        borrow(url, DAVINCI, f"b{i}", team="powertrain" if i % 5 else "chassis", run="run-1")
    post_notification(url, notification("firing", alert("HighOverageRate", "firing", "h1", tool=DAVINCI)))
    page.goto(url + "/dashboard")
    strip = page.locator("#incident")
    expect(strip).to_be_visible()
    expect(page.locator("#incident-alert")).to_contain_text("HighOverageRate")
    expect(page.locator("#incident-tool")).to_have_text(DAVINCI)
    expect(page.locator("#incident-team")).to_have_text("powertrain")
    expect(page.locator("#incident-detect")).to_have_text(re.compile(r"^\d+ s$"))

    post_notification(url, notification("resolved", alert("HighOverageRate", "resolved", "h1", tool=DAVINCI)))
    expect(page.locator("#alerts")).to_be_hidden(timeout=4_000)
    expect(strip).to_be_visible()
    expect(page.locator("#incident-state")).to_have_text("alert resolved without a fix: still open", timeout=4_000)

    for seat in requests.get(url + "/api/borrows", timeout=10).json():
        requests.post(url + "/api/return", json={"id": seat["id"]}, timeout=10)
    fixed = requests.put(f"{url}/api/config/tools/{DAVINCI}", json={"commit": 10, "max_overage": 10},
                         headers=ADMIN, timeout=10)
    assert fixed.status_code == 200
    for i in range(12):                       # run 2: 12 borrows, 2 in overage
        borrow(url, DAVINCI, f"c{i}", run="run-2")
    expect(page.locator("#incident-state")).to_contain_text("fix applied, verifying", timeout=4_000)
    chart = page.locator("#share-chart")
    expect(chart).to_have_attribute("data-markers", "3", timeout=4_000)   # fired, resolved, config change
    assert DAVINCI in chart.get_attribute("data-tools")
    expect(chart.locator(".u-legend")).to_contain_text("threshold 30 %")
    rows = page.locator("#runs-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("12")
    expect(rows.nth(0).locator("td.share")).to_have_text("16.7 %")
    expect(rows.nth(1).locator("td.share")).to_have_text("75.0 %")
    expect(rows.nth(1).locator("td").nth(3)).to_have_text("$2,250")
    expect(rows.nth(1)).to_have_class("above")
