"""Alert facts: which alerts fire now, which one this investigation is about, and the series it fires on."""
from __future__ import annotations

from typing import TYPE_CHECKING

from license_demo.clients import DemoError
from license_demo.investigate import wording
from license_demo.investigate.gathered import Alert, AlertsSeen
from rule_source.promql import duration
from license_demo.investigate.subject import symptom_alert
from license_demo.timestamps import epoch
from rule_source import load as load_rule_settings

if TYPE_CHECKING:
    from license_demo.investigate.evidence import Evidence, FactLog

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def _real(labels: dict) -> bool:
    """Alerts raised by synthetic checks (labelled synthetic="true") are not incidents."""
    return str(labels.get("synthetic", "")).lower() != "true"


def _key(labels: dict) -> tuple:
    """An alert's identity: its labels without Prometheus' state label."""
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("alertstate", "__name__")))


def alert_facts(col: FactLog) -> None:
    """Which alerts fire now and which fired in the window (Prometheus, Alertmanager, the webhook record)."""
    ev, src = col.ev, col.sources
    alerts: dict[tuple, dict] = {}
    try:
        for a in src.prometheus.alerts():
            if a.get("state") == "firing" and _real(a["labels"]):
                alerts[_key(a["labels"])] = {"labels": a["labels"], "active_at": epoch(a.get("activeAt")),
                                             "source": "prometheus"}
    except (DemoError, ValueError, KeyError):
        pass
    if src.alertmanager is not None:
        try:
            for a in src.alertmanager.active():
                if _real(a["labels"]):
                    entry = alerts.setdefault(_key(a["labels"]), {"labels": a["labels"], "source": "alertmanager"})
                    entry["starts_at"] = epoch(a.get("startsAt"))
        except (DemoError, ValueError):
            pass
    received = []
    if ev.server.reachable:
        try:
            received = [a for a in src.server.alerts() if _real(a.get("labels", {}))]
        except (DemoError, ValueError):
            pass
    for a in received:
        if a.get("status") == "firing":
            entry = alerts.setdefault(_key(a.get("labels", {})), {"labels": a.get("labels", {}), "source": "webhook"})
            entry["received_at"] = epoch(a.get("received_at"))
    firing = sorted((Alert(**a) for a in alerts.values()),
                    key=lambda a: (SEVERITY_ORDER.get(a.labels.get("severity"), 3), a.name))
    col.add("alerts_firing", "alerts firing now", [_row(a) for a in firing],
            "Prometheus GET /api/v1/alerts, Alertmanager GET /api/v2/alerts, server GET /api/alerts",
            "alertmanager")
    ev.alerts = AlertsSeen(firing=firing, fired=_fired_in_window(col, firing, received))


def _row(alert: Alert) -> dict:
    """The labels of an alert the report shows."""
    return {k: alert.labels.get(k, "") for k in ("alertname", "severity", "tool", "user")}


def _fired_in_window(col: FactLog, firing: list[Alert], received: list[dict]) -> list[Alert]:
    """Alerts that fired at some point in the window, even if resolved now (ALERTS and the webhook record)."""
    ev, window = col.ev, col.ev.settings.window
    fired = {_key(a.labels): a for a in firing}
    expr = f'max_over_time(ALERTS{{alertstate="firing"}}[{duration(window)}])'
    try:
        for r in col.sources.prometheus.query(expr, at=ev.at) if col.prometheus_ok else []:
            if _real(r["metric"]):
                fired.setdefault(_key(r["metric"]), Alert(labels={k: v for k, v in r["metric"].items()
                                                                  if k not in ("__name__", "alertstate")},
                                                          source="prometheus", resolved=True))
    except DemoError:
        pass
    for a in received:
        at = epoch(a.get("received_at"))
        if at and ev.at - at <= window and a.get("status") == "firing":
            fired.setdefault(_key(a.get("labels", {})), Alert(labels=a.get("labels", {}), source="webhook",
                                                              received_at=at, resolved=True))
    resolved = [a for a in fired.values() if a.resolved]
    col.add("alerts_resolved_window", f"alerts that fired in the last {wording.duration(window)} and are "
                                      "resolved now", [_row(a) for a in resolved],
            f"{expr}; server GET /api/alerts received_at", "prometheus")
    return list(fired.values())


def pick_alert(ev: Evidence) -> Alert | None:
    """The alert this investigation is about: the named one, else one matching the subject.

    Only alerts that fire now or fired in the window qualify: the investigator never names
    an alert that did not fire.
    """
    subject = ev.subject
    candidates = ev.alerts.firing + [a for a in ev.alerts.fired if a.resolved]

    # A name matching several tools ("DaVinci") admits only those tools' alerts.
    tools = [subject.tool] if subject.tool else subject.tool_candidates

    def fits(a: Alert) -> bool:
        labels = a.labels
        return ((not tools or labels.get("tool") in (None, *tools))
                and (not subject.user or labels.get("user") in (None, subject.user)))

    if subject.alert:
        named = [a for a in candidates if a.name == subject.alert]
        if not named:
            ev.notes.append(f"{subject.alert} is not firing and did not fire in the last "
                            f"{wording.duration(ev.settings.window)}")
        return next((a for a in named if fits(a)), named[0] if named else None)
    hinted = symptom_alert(subject)
    for group in ([a for a in candidates if a.name == hinted and fits(a)],
                  [a for a in candidates if fits(a)
                   and ((subject.tool and a.labels.get("tool") == subject.tool)
                        or (subject.user and a.labels.get("user") == subject.user))]):
        if group:
            return group[0]
    return None


def focus_alert(col: FactLog) -> None:
    """Record the alert in focus (None when no matching alert fired)."""
    col.ev.alert = pick_alert(col.ev)


def alert_series_facts(col: FactLog) -> None:
    """The series the alert fires on: now, its peak in the window, its average one window earlier."""
    ev, w, span = col.ev, duration(col.ev.settings.window), wording.duration(col.ev.settings.window)
    alert = ev.alert
    # The series the named (or hinted) alert reads is a fact even when that alert did not fire.
    name = alert.name if alert else ev.subject.alert or symptom_alert(ev.subject)
    try:
        reading = load_rule_settings(ev.settings.rules_file).reading(name or "")
    except ValueError as exc:
        ev.notes.append(f"the series of {name} is unknown ({exc})")
        return
    if reading is None:
        return
    labels = alert.labels if alert else {}
    tool, user = labels.get("tool") or ev.tool, labels.get("user") or ev.holder.user
    if ("tool" in reading.needs and not tool) or ("user" in reading.needs and not user):
        return
    series = reading.query(tool=tool, user=user)
    unit, what = reading.unit, reading.measures
    if alert:
        what = f"{what} ({name}'s series)"
    col.scalar("alert_series_now", f"{what} now", series, unit, default=None)
    col.scalar("alert_series_peak", f"{what}, highest in the last {span}", f"max_over_time(({series})[{w}:])",
               unit, default=None)
    base = ev.settings.baseline_seconds
    if base:
        col.scalar("alert_series_baseline", f"{what}, average in the {wording.duration(base)} before that",
                   f"avg_over_time(({series})[{duration(base)}:] offset {w})", unit, default=None)
