"""Wait for an alert to fire or resolve, as Alertmanager and the server's webhook record see it."""
from __future__ import annotations

import time
from dataclasses import dataclass

from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient


@dataclass
class AlertSeen:
    """When and where an alert state change was observed."""

    alertname: str
    state: str
    at: float
    source: str
    labels: dict


def _matches(labels: dict, alertname: str, match: dict | None) -> bool:
    """True when `labels` carry `alertname` and every `match` label."""
    if labels.get("alertname") != alertname:
        return False
    return all(labels.get(k) == v for k, v in (match or {}).items())


def firing_now(server: ServerClient, alertmanager: AlertmanagerClient | None, alertname: str,
               match: dict | None = None, webhook_only: bool = False) -> AlertSeen | None:
    """The alert if Alertmanager or the server's webhook record shows it firing now.

    `webhook_only`: only the webhook record counts (what the dashboard banner shows).
    """
    if alertmanager is not None and not webhook_only:
        for alert in alertmanager.active():
            if _matches(alert.get("labels", {}), alertname, match):
                return AlertSeen(alertname, "firing", time.time(), "alertmanager", alert["labels"])
    for alert in server.alerts(status="firing"):
        if _matches(alert.get("labels", {}), alertname, match):
            return AlertSeen(alertname, "firing", time.time(), "webhook", alert["labels"])
    return None


def wait_for(server: ServerClient, alertmanager: AlertmanagerClient | None, alertname: str,
             firing: bool, timeout: float, match: dict | None = None,
             poll: float = 1.0, progress=None, webhook_only: bool = False) -> AlertSeen:
    """Poll until `alertname` is firing (or, with firing=False, no longer active anywhere).

    `webhook_only` waits until the firing alert has reached the server (the banner).
    """
    started = time.monotonic()
    deadline = started + timeout
    next_note = started + 15
    while time.monotonic() < deadline:
        seen = firing_now(server, alertmanager, alertname, match,
                          webhook_only=webhook_only and firing)
        if firing and seen is not None:
            return seen
        if not firing and seen is None:
            return AlertSeen(alertname, "resolved", time.time(), "alertmanager+webhook", match or {})
        if progress and time.monotonic() >= next_note:
            progress(f"  ... still waiting for {alertname} to {'fire' if firing else 'resolve'}"
                     f" ({time.monotonic() - started:.0f}s)")
            next_note += 15
        time.sleep(poll)
    state = "fire" if firing else "resolve"
    raise DemoError(f"{alertname} did not {state} within {timeout:.0f}s: check that Prometheus "
                    f"scrapes the server, loads the demo rule profile and sends to Alertmanager")


def unflushed_selector(alertmanager: AlertmanagerClient | None, prometheus: PrometheusClient | None):
    """A function telling whether an ALERTS selector was firing so recently that Alertmanager
    may not have sent its resolved notification yet; None without both to ask.

    Alertmanager sends a group's changes once per group_interval. An alert that fires again
    before its resolved notification went out is, to the group's log, still the alert already
    notified as firing: no new notification until repeat_interval (an hour in the demo). A run
    that needs a fresh notification waits one group_interval after the last firing sample.
    """
    interval = alertmanager.group_interval() if alertmanager is not None and prometheus is not None else None
    if interval is None:
        return None
    window = int(interval) + 5      # one flush, and an evaluation and a scrape of slack

    def recently_firing(selector: str) -> bool:
        return bool(prometheus.query(f'max_over_time(ALERTS{{{selector},alertstate="firing"}}[{window}s])'))
    return recently_firing


def ensure_quiet(server: ServerClient, alertmanager: AlertmanagerClient | None,
                 prometheus: PrometheusClient | None, alertnames, timeout: float,
                 out=print) -> None:
    """Before a journey starts: wait until alerts of an earlier run are neither pending in
    Prometheus nor active in Alertmanager, and Alertmanager has had the time to send their
    resolved notification, so this run's alert is notified and its detection time is its own."""
    deadline = time.monotonic() + timeout
    told = False
    unflushed = unflushed_selector(alertmanager, prometheus)
    while True:
        busy = [name for name in alertnames
                if firing_now(server, alertmanager, name) is not None
                or (prometheus is not None and any(a["labels"].get("alertname") == name
                                                   for a in prometheus.alerts()))
                or (unflushed is not None and unflushed(f'alertname="{name}"'))]
        if not busy:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"{', '.join(busy)} from an earlier run did not resolve within "
                            f"{timeout:.0f}s; run `license-demo reset` and wait a minute")
        if not told:
            out(f"  {', '.join(busy)} from an earlier run still pending, active or not yet notified "
                "as resolved; waiting for that first")
            told = True
        time.sleep(1)


def active_alerts(server: ServerClient, alertmanager: AlertmanagerClient | None,
                  prometheus: PrometheusClient | None) -> set[str]:
    """Names of the alerts pending or firing in Prometheus, active in Alertmanager or at the webhook."""
    names = {a.get("labels", {}).get("alertname") for a in server.alerts(status="firing")}
    if alertmanager is not None:
        names |= {a.get("labels", {}).get("alertname") for a in alertmanager.active()}
    if prometheus is not None:
        names |= {a["labels"].get("alertname") for a in prometheus.alerts()}
    return {name for name in names if name}


def wait_all_resolved(server: ServerClient, alertmanager: AlertmanagerClient | None,
                      prometheus: PrometheusClient | None, timeout: float, progress=None) -> float:
    """Wait until no alert is pending, firing or still on the banner; return when that was."""
    started = time.monotonic()
    next_note = started + 15
    while True:
        active = active_alerts(server, alertmanager, prometheus)
        if not active:
            return time.time()
        if time.monotonic() - started > timeout:
            raise DemoError(f"{', '.join(sorted(active))} still active {timeout:.0f}s after the "
                            "fix; see the dashboard banner and Prometheus alerts")
        if progress and time.monotonic() >= next_note:
            progress(f"  ... waiting for {', '.join(sorted(active))} to resolve "
                     f"({time.monotonic() - started:.0f}s)")
            next_note += 15
        time.sleep(1)
