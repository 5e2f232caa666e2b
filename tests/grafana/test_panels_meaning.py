"""What the business and capacity panels show equals what the license server itself reports.

After a scripted load on the session's native stack, each panel's PromQL (as committed, the
variables filled in as Grafana does) is evaluated on its real Prometheus and compared with
`GET /api/tools` and `GET /api/borrows`. A panel pointed at the wrong series fails here even
when it returns data.
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from dashboard_queries import panels

pytestmark = pytest.mark.stack
DAVINCI = "Vector - DaVinci Configurator SE"
CANOE = "Vector - CANoe"
# (tool, user, team) in order; the last DaVinci seat (an overage one) is given back after.
BORROWS = [(DAVINCI, "alice", "body")] * 4 + [(DAVINCI, "bob", "chassis")] * 3 \
    + [(DAVINCI, "carol", "adas"), (CANOE, "dave", "adas"), (CANOE, "dave", "adas")]


def expr_of(dashboards: dict, uid: str, title: str, ref: str) -> str:
    """The committed expression `ref` of panel `title`, variables as Grafana fills them for All."""
    dash = next(d for d in dashboards.values() if d["uid"] == uid)
    panel = next(p for p in panels(dash) if p["title"] == title)
    expr = next(t["expr"] for t in panel["targets"] if t["refId"] == ref)
    # One scrape interval or so: the state below has been steady for longer than that.
    return expr.replace("$__interval", "5s").replace('"$tool"', '".*"').replace('"$team"', '".*"')


@pytest.fixture(scope="module")
def scripted(native_stack):
    """The stack after the scripted borrows and one return: the server's own numbers."""
    native_stack.reset()
    url = native_stack.server_url
    seats = []
    for tool, user, team in BORROWS:
        response = requests.post(f"{url}/api/borrow", json={"tool": tool, "user": user,
                                                             "team": team}, timeout=10)
        assert response.status_code == 201, response.text
        seats.append(response.json())
    last_overage = [s for s in seats if s["tool"] == DAVINCI and s["overage"]][-1]
    requests.post(f"{url}/api/return", json={"id": last_overage["id"]},
                  timeout=10).raise_for_status()
    tools = {t["name"]: t for t in requests.get(f"{url}/api/tools", timeout=10).json()}
    held = Counter((b["user"], b["team"])
                   for b in requests.get(f"{url}/api/borrows", timeout=10).json())
    assert tools[DAVINCI]["overage_in_use"] == 2 and tools[DAVINCI]["in_use"] == 7
    yield native_stack, tools, held
    native_stack.reset()


def by_label(result: list, *names: str) -> dict:
    """{label value(s): sample value} of an instant query result."""
    return {tuple(r["metric"].get(n) for n in names) if len(names) > 1 else r["metric"].get(names[0]):
            float(r["value"][1]) for r in result}


def expected_values(tools: dict, held: Counter) -> dict:
    """What each checked panel query must show, from the server's answers."""
    def ratio(a, b):
        return {name: t[a] / t[b] if t[b] else None for name, t in tools.items()}
    return {
        ("license-business-metrics", "Availability", "A", "tool"):
            {name: t["available"] for name, t in tools.items()},
        ("license-business-metrics", "Commit vs Overage Seats in Use", "A", "tool"):
            {name: t["commit_in_use"] for name, t in tools.items()},
        ("license-business-metrics", "Commit vs Overage Seats in Use", "B", "tool"):
            {name: t["overage_in_use"] for name, t in tools.items()},
        ("license-business-metrics", "License Checkouts by User", "B", "user", "team"):
            dict(held),
        ("license-business-metrics", "Overage Share Over Time (before and after a change)", "B",
         "tool"): {k: v for k, v in ratio("overage_in_use", "in_use").items() if v is not None},
        ("license-capacity-planning", "Seat Utilization (30 days)", "A", "tool"):
            {name: t["in_use"] / (t["commit"] + t["max_overage"]) for name, t in tools.items()},
        ("license-capacity-planning", "Seat Utilization (30 days)", "B", "tool"):
            {name: t["in_use"] / t["commit"] for name, t in tools.items()},
    }


def mismatches(stack, dashboards: dict, expected: dict, override: dict | None = None) -> list:
    """Panels whose query (or `override[key]` instead) does not show the expected values now."""
    wrong = []
    for key, want in expected.items():
        uid, title, ref, *labels = key
        expr = (override or {}).get(key) or expr_of(dashboards, uid, title, ref)
        got = by_label(stack.query(expr), *labels)
        if labels == ["user", "team"]:
            got = {k: v for k, v in got.items() if v}  # users who gave every seat back show 0
        if set(got) != set(want) or any(abs(got[k] - want[k]) > 1e-9 for k in want):
            wrong.append((title, ref, expr, got, want))
    return wrong


def test_panels_show_the_servers_own_numbers(scripted, generated_dashboards):
    """Availability, commit/overage seats, seats held, overage share, utilization: all equal."""
    stack, tools, held = scripted
    expected = expected_values(tools, held)
    deadline = time.monotonic() + 60
    while (wrong := mismatches(stack, generated_dashboards, expected)) and \
            time.monotonic() < deadline:
        time.sleep(1)  # until Prometheus has scraped the final state
    assert not wrong, wrong
    health = stack.query(expr_of(generated_dashboards, "license-business-metrics",
                                 "Server Health", "A"))
    assert float(health[0]["value"][1]) == 1
    assert requests.get(f"{stack.server_url}/readyz", timeout=5).status_code == 200

    # The same comparison catches a panel on the wrong series, though that one has data too.
    key = ("license-business-metrics", "Availability", "A", "tool")
    wrong_series = expr_of(generated_dashboards, *key[:3]).replace("licenses_available",
                                                                   "licenses_in_use")
    assert stack.query(wrong_series)
    assert mismatches(stack, generated_dashboards, {key: expected[key]}, {key: wrong_series})


def test_tool_variable_narrows_each_panel_to_the_chosen_tool(scripted, generated_dashboards):
    """With one tool chosen (as Grafana fills `$tool`), Availability shows that tool alone."""
    stack, tools, _ = scripted
    dash = next(d for d in generated_dashboards.values() if d["uid"] == "license-business-metrics")
    panel = next(p for p in panels(dash) if p["title"] == "Availability")
    expr = panel["targets"][0]["expr"].replace("$tool", CANOE)
    assert by_label(stack.query(expr), "tool") == {CANOE: tools[CANOE]["available"]}
