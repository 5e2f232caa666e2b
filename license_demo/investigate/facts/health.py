"""Health facts: does the server answer, does Prometheus scrape it, are borrows failing, are faults on."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from license_demo.clients import DemoError
from license_demo.investigate import wording
from license_demo.investigate.gathered import Failures, ScrapeHealth, ServerAnswer
from rule_source.promql import grew
from license_demo.timestamps import epoch, iso

if TYPE_CHECKING:
    from license_demo.investigate.evidence import FactLog


def server_facts(col: FactLog) -> None:
    """Can the investigator reach the server, and what tools does it lend."""
    ev, server = col.ev, col.sources.server
    try:
        server.call("GET", "/healthz")
        reachable = 1
    except DemoError as exc:
        reachable = 0
        ev.notes.append(str(exc))
    col.add("server_reachable", "license server answers /healthz (1 yes, 0 no)", reachable,
            f"GET {server.url}/healthz", "server")
    catalog = {}
    if reachable:
        try:
            catalog = {t["name"]: t for t in server.tools()}
        except DemoError as exc:
            ev.notes.append(str(exc))
    ev.server = ServerAnswer(reachable=bool(reachable), catalog=catalog)


def reset_facts(col: FactLog) -> None:
    """Start every window at the server's last reset at the earliest, so rehearsals stay out.

    Prometheus keeps the counters of traffic from before a reset; counting from the reset on
    shows only the show. A server without GET /api/status keeps the full windows (with a note).
    """
    ev, server, s = col.ev, col.sources.server, col.ev.settings
    if not ev.server.reachable:
        return
    try:
        answer = server.call("GET", "/api/status", expect_error=True)
        reset_at = epoch(answer.json().get("last_reset_at")) if answer.status_code == 200 else None
        if answer.status_code != 200:
            ev.notes.append(f"GET /api/status answered {answer.status_code}: the windows may include "
                            "traffic from before the last reset")
    except (DemoError, ValueError, AttributeError) as exc:
        ev.notes.append(f"server status unavailable ({exc}): the windows may include traffic from before "
                        "the last reset")
        return
    if not reset_at or reset_at >= ev.at:
        return
    since = ev.at - reset_at
    s.since = reset_at
    col.add("last_reset", "server last reset (GET /api/status)", f"{iso(reset_at)}, {wording.duration(since)} ago",
            f"GET {server.url}/api/status", "server")
    if since < s.window:
        ev.notes.append(f"window shortened from {wording.duration(s.window)} to {wording.duration(since)}: "
                        f"the server was reset at {iso(reset_at)}")
        # Rounded up: a window cut to whole seconds must still hold what happened right after the reset.
        s.window = max(math.ceil(since), 1)
    s.baseline = max(0, min(s.window, int(since - s.window)))
    if since < s.lookback:
        s.lookback = max(math.ceil(since), 1)


def prometheus_facts(col: FactLog) -> None:
    """Scrape health: `up` of the server target and the target's last error."""
    ev, prom = col.ev, col.sources.prometheus
    try:
        prom.query("vector(1)")
    except (DemoError, ValueError) as exc:
        col.prometheus_ok = False
        ev.scrape = ScrapeHealth(prometheus_reachable=False)
        ev.notes.append(f"Prometheus unreachable: {exc}; facts come from the server only")
        return
    up = col.rows("server_up", "up of the license-server target (1 scraped, 0 failing)",
                  'up{job="license-server"}', ("instance",), "up")
    try:
        errors = [t.get("lastError") for t in prom.targets()
                  if t.get("labels", {}).get("job") == "license-server" and t.get("lastError")]
    except (DemoError, ValueError, KeyError):
        errors = []
    ev.scrape = ScrapeHealth(prometheus_reachable=True, up=min((r["value"] for r in up), default=None),
                             target_error=errors[0] if errors else "")
    col.add("scrape_error", "last scrape error of the license-server target", ev.scrape.target_error or "none",
            "GET /api/v1/targets", "prometheus")


def failure_facts(col: FactLog) -> None:
    """Failed borrows by tool and reason in the window, the failing share now, and fault switches on."""
    ev = col.ev
    if not col.prometheus_ok:
        ev.failures = Failures()
        return
    window = col.rows(
        "failures_window", f"failed borrows by tool and reason in the last {wording.duration(ev.settings.window)}",
        grew("license_borrow_failures_total", "tool, reason", ev.settings.window) + " > 0", ("tool", "reason"),
        "failure")
    ratios = col.rows("failure_ratio_now", "share of borrow attempts failing now, by reason (recording rule)",
                      'tool_reason:license_borrow_failures:ratio{reason!="exhausted"} > 0', ("tool", "reason"),
                      "ratio")
    ev.failures = Failures(window=window, ratio_now=ratios)
    col.rows("faults_active", "fault switches on now", "license_fault_active == 1", ("fault", "variant"))
