"""Health facts: does the server answer, does Prometheus scrape it, are borrows failing, are faults on."""
from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from license_demo.clients import DemoError
from license_demo.investigate.promql import duration, grew

if TYPE_CHECKING:
    from license_demo.investigate.evidence import Collector


def server_facts(col: Collector) -> None:
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
    ev.data["server_reachable"] = bool(reachable)
    ev.data["tools"] = {}
    if reachable:
        try:
            ev.data["tools"] = {t["name"]: t for t in server.tools()}
        except DemoError as exc:
            ev.notes.append(str(exc))


def prometheus_facts(col: Collector) -> None:
    """Scrape health: `up` of the server target and the target's last error."""
    ev, prom = col.ev, col.sources.prometheus
    try:
        prom.query("vector(1)")
    except (DemoError, requests.RequestException) as exc:
        col.prometheus_ok = False
        ev.data["prometheus_reachable"] = False
        ev.notes.append(f"Prometheus unreachable: {exc}; facts come from the server only")
        return
    ev.data["prometheus_reachable"] = True
    up = col.rows("server_up", "up of the license-server target (1 scraped, 0 failing)",
                  'up{job="license-server"}', ("instance",))
    ev.data["up"] = min((r["value"] for r in up), default=None)
    try:
        targets = requests.get(prom.url.rstrip("/") + "/api/v1/targets", timeout=10).json()
        errors = [t.get("lastError") for t in targets["data"]["activeTargets"]
                  if t.get("labels", {}).get("job") == "license-server" and t.get("lastError")]
    except (requests.RequestException, ValueError, KeyError):
        errors = []
    ev.data["target_error"] = errors[0] if errors else ""
    col.add("scrape_error", "last scrape error of the license-server target", ev.data["target_error"] or "none",
            "GET /api/v1/targets", "prometheus")


def failure_facts(col: Collector) -> None:
    """Failed borrows by tool and reason in the window, the failing share now, and fault switches on."""
    if not col.prometheus_ok:
        return
    ev, w = col.ev, duration(col.ev.settings.window)
    col.rows("failures_window", f"failed borrows by tool and reason in the last {w}",
             grew("license_borrow_failures_total", "tool, reason", col.ev.settings.window) + " > 0", ("tool", "reason"))
    ratios = col.rows("failure_ratio_now", "share of borrow attempts failing now, by reason (recording rule)",
                      'tool_reason:license_borrow_failures:ratio{reason!="exhausted"} > 0', ("tool", "reason"))
    ev.data["failure_ratio_now"] = ratios
    col.rows("faults_active", "fault switches on now", "license_fault_active == 1", ("fault", "variant"))
