"""Alert facts: which alerts fire now, which one this investigation is about, and the series it fires on."""
from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from license_demo.clients import DemoError
from license_demo.investigate.promql import duration
from license_demo.investigate.subject import symptom_alert
from license_demo.investigate.timestamps import epoch

if TYPE_CHECKING:
    from license_demo.investigate.evidence import Collector, Evidence

# The series each alert fires on, as PromQL with {tool} and {user} filled in; its baseline
# is the same series over the same window one window earlier.
ALERT_SERIES = {
    "HighOverageRate": 'tool:license_overage_seats:ratio{{tool="{tool}"}}',
    "OverageLimitReached": 'sum(licenses_overage{{tool="{tool}"}})',
    "HighOverageCostBurn": 'tool:license_overage_cost_burn:dollars_per_hour{{tool="{tool}"}}',
    "LicensesExhausted": 'sum(licenses_available{{tool="{tool}"}})',
    "SingleUserHoarding": 'sum(licenses_held_by_user{{user="{user}"}})',
    "BorrowFailureSpike": 'sum(tool_reason:license_borrow_failures:ratio{{tool="{tool}",reason!="exhausted"}})',
    "LicenseServerDown": 'min(up{{job="license-server"}})',
}
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def alert_facts(col: Collector) -> None:
    """Which alerts fire now (Prometheus keeps activeAt, Alertmanager and the webhook the rest)."""
    ev, src = col.ev, col.sources
    alerts: dict[tuple, dict] = {}
    try:
        data = requests.get(src.prometheus.url.rstrip("/") + "/api/v1/alerts", timeout=10).json()
        for a in data["data"]["alerts"]:
            if a.get("state") == "firing":
                key = tuple(sorted(a["labels"].items()))
                alerts[key] = {"labels": a["labels"], "active_at": epoch(a.get("activeAt")),
                               "source": "prometheus"}
    except (requests.RequestException, ValueError, KeyError):
        pass
    if src.alertmanager is not None:
        try:
            for a in src.alertmanager.active():
                key = tuple(sorted(a["labels"].items()))
                entry = alerts.setdefault(key, {"labels": a["labels"], "source": "alertmanager"})
                entry["starts_at"] = epoch(a.get("startsAt"))
        except (DemoError, requests.RequestException):
            pass
    if ev.data.get("server_reachable"):
        try:
            for a in src.server.alerts(status="firing"):
                key = tuple(sorted(a.get("labels", {}).items()))
                entry = alerts.setdefault(key, {"labels": a.get("labels", {}), "source": "webhook"})
                entry["received_at"] = epoch(a.get("received_at"))
        except (DemoError, requests.RequestException):
            pass
    firing = sorted(alerts.values(), key=lambda a: (SEVERITY_ORDER.get(a["labels"].get("severity"), 3),
                                                    a["labels"].get("alertname", "")))
    ev.data["alerts"] = firing
    col.add("alerts_firing", "alerts firing now", [
        {k: a["labels"].get(k, "") for k in ("alertname", "severity", "tool", "user")} for a in firing],
        "Prometheus GET /api/v1/alerts, Alertmanager GET /api/v2/alerts, server GET /api/alerts?status=firing",
        "alertmanager")


def pick_alert(ev: Evidence) -> dict | None:
    """The firing alert this investigation is about: the named one, else one matching the subject."""
    subject, firing = ev.subject, ev.data.get("alerts", [])

    def fits(a: dict) -> bool:
        labels = a["labels"]
        return ((not subject.tool or labels.get("tool") in (None, subject.tool))
                and (not subject.user or labels.get("user") in (None, subject.user)))

    if subject.alert:
        named = [a for a in firing if a["labels"].get("alertname") == subject.alert]
        return next((a for a in named if fits(a)), named[0] if named else None)
    hinted = symptom_alert(subject)
    for candidates in ([a for a in firing if a["labels"].get("alertname") == hinted and fits(a)],
                       [a for a in firing if fits(a) and (subject.tool or subject.user)
                        and (a["labels"].get("tool") == subject.tool or a["labels"].get("user") == subject.user)]):
        if candidates:
            return candidates[0]
    return None


def focus_alert(col: Collector) -> None:
    """Record the alert in focus and its name (the one the subject names when none fires)."""
    ev = col.ev
    ev.data["alert"] = pick_alert(ev)
    ev.data["alert_name"] = ev.data["alert"]["labels"]["alertname"] if ev.data["alert"] else ev.subject.alert


def alert_series_facts(col: Collector) -> None:
    """The series the alert fires on: now, its peak in the window, its average one window earlier."""
    ev, w = col.ev, duration(col.ev.settings.window)
    alert = ev.data.get("alert")
    name = alert["labels"]["alertname"] if alert else ev.subject.alert or symptom_alert(ev.subject)
    template = ALERT_SERIES.get(name or "")
    if not template:
        return
    labels = alert["labels"] if alert else {}
    tool, user = labels.get("tool") or ev.data.get("tool"), labels.get("user") or ev.data.get("holder")
    if ("{tool}" in template and not tool) or ("{user}" in template and not user):
        return
    series = template.format(tool=tool, user=user)
    col.scalar("alert_series_now", f"{name} series now", series, default=None)
    col.scalar("alert_series_peak", f"{name} series, highest in the last {w}", f"max_over_time(({series})[{w}:])",
               default=None)
    col.scalar("alert_series_baseline", f"{name} series, average in the {w} before that",
               f"avg_over_time(({series})[{w}:] offset {w})", default=None)
