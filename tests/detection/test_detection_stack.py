"""End to end on the native stack: heavy overage load → alerts at the webhook → fix → resolved."""
from __future__ import annotations

import time
from urllib.parse import quote

import pytest
import requests

from bench.overage_load import DAVINCI, heavy_borrow_load
from support.polling import alerts_quiet

pytestmark = pytest.mark.stack


def _tool(stack, name: str) -> dict:
    """The tool as the server reports it now."""
    response = requests.get(f"{stack.server_url}/api/tools/{quote(name, safe='')}", timeout=10)
    response.raise_for_status()
    return response.json()


def _fresh(stack, name: str, status: str, since: float, timeout: float) -> dict:
    """Wait for a webhook delivery of `name` for DaVinci in `status` received after `since`."""
    return stack.wait_for_webhook(name, status, timeout=timeout, labels={"tool": DAVINCI},
                                  since=since)


def test_overage_alerts_reach_the_webhook_and_resolve_after_the_fix(native_stack):
    """HighOverageRate and OverageLimitReached fire under heavy load and resolve after the fix."""
    stack = native_stack
    stack.reset()
    alerts_quiet(stack, DAVINCI)
    before = _tool(stack, DAVINCI)
    assert (before["commit"], before["max_overage"], before["in_use"]) == (5, 15, 0)
    started = time.time()

    heavy_borrow_load(stack.server_url, DAVINCI)
    loaded = _tool(stack, DAVINCI)
    assert loaded["overage_in_use"] == 15, loaded  # the load used up every overage seat

    high = _fresh(stack, "HighOverageRate", "firing", started, timeout=90)
    limit = _fresh(stack, "OverageLimitReached", "firing", started, timeout=90)
    assert high["labels"]["severity"] == "warning"
    assert limit["labels"]["severity"] == "critical"
    for alert, anchor in ((high, "highoveragerate"), (limit, "overagelimitreached")):
        annotations = alert["annotations"]
        assert annotations["runbook_url"].endswith(f"#{anchor}")
        # The native stack runs no Grafana: the links open the server's own pages, and answer.
        assert annotations["dashboard"] == f"{stack.server_url}/dashboard"
        assert annotations["logs"] == \
            f"{stack.server_url}/api/borrows?tool=Vector+-+DaVinci+Configurator+SE"
        held = requests.get(annotations["logs"], timeout=10)
        assert held.status_code == 200 and {b["tool"] for b in held.json()} == {DAVINCI}
        assert requests.get(annotations["dashboard"], timeout=10).status_code == 200
        assert DAVINCI in annotations["description"]

    # The fix of the demo: more commit, less overage, the seats of the build jobs returned.
    fixed_at = time.time()
    stack.admin("PUT", f"/api/config/tools/{quote(DAVINCI, safe='')}",
                json={"commit": 10, "max_overage": 10})
    borrows = requests.get(f"{stack.server_url}/api/borrows", params={"tool": DAVINCI},
                           timeout=10).json()
    for user in sorted({borrow["user"] for borrow in borrows}):
        stack.admin("POST", f"/api/users/{quote(user, safe='')}/force-return")
    after = _tool(stack, DAVINCI)
    assert (after["commit"], after["max_overage"], after["in_use"]) == (10, 10, 0)

    _fresh(stack, "OverageLimitReached", "resolved", fixed_at, timeout=90)
    _fresh(stack, "HighOverageRate", "resolved", fixed_at, timeout=120)
    firing = {a["labels"]["alertname"] for a in stack.alerts_received("firing")
              if a["labels"].get("tool") == DAVINCI}
    assert not firing & {"HighOverageRate", "OverageLimitReached"}
    stack.reset()
