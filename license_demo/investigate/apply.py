"""Carry out an approved action through the admin API, then verify that it worked (bounded wait)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from license_demo import alert_wait
from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.investigate.actions import Action

OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}


@dataclass
class Outcome:
    """What applying an action did and what the verification saw."""

    applied: bool
    result: str
    verified: bool | None = None
    verification: str = ""
    seconds_to_verify: float | None = None

    def to_dict(self) -> dict:
        """The outcome as JSON-ready data."""
        return dict(self.__dict__)


def execute(action: Action, server: ServerClient, notify_url: str | None = None) -> Outcome:
    """Make the action's call (admin API, or the notification webhook); never raises for HTTP errors."""
    if action.notify is not None:
        if not notify_url:
            return Outcome(True, f"message prepared for {action.notify['channel']} (no webhook configured: "
                                 f"send it by hand): {action.notify['text']}")
        try:
            response = requests.post(notify_url, json=action.notify, timeout=10)
            response.raise_for_status()
        except requests.RequestException as exc:
            return Outcome(False, f"the notification webhook failed: {exc}")
        return Outcome(True, f"sent to {action.notify['channel']} via the webhook")
    if action.request is None:
        return Outcome(False, "manual action: run the command shown; the investigator cannot do it over HTTP")
    req = action.request
    try:
        response = server.call(req["method"], req["path"], json=req.get("json"), admin=True)
    except DemoError as exc:
        return Outcome(False, str(exc))
    return Outcome(True, f"{req['method']} {req['path']} answered {response.status_code}: {response.text[:300]}")


def verify(action: Action, outcome: Outcome, prometheus: PrometheusClient, server: ServerClient,
           alertmanager: AlertmanagerClient | None, timeout: float, progress=print) -> Outcome:
    """Wait until the metric meets its target and the alert (if firing) resolves, or `timeout` passes."""
    check = action.verify or {}
    if not outcome.applied or not check.get("expr"):
        return outcome
    started = time.monotonic()
    deadline, seen = started + timeout, None
    while time.monotonic() < deadline:
        try:
            rows = prometheus.query(check["expr"])
            seen = float(rows[0]["value"][1]) if rows else None
        except DemoError:
            seen = None
        if seen is not None and OPS[check["op"]](seen, check["value"]):
            break
        time.sleep(1)
    else:
        outcome.verified = False
        outcome.verification = (f"{check['expr']} is {seen} after {timeout:.0f}s, not yet "
                                f"{check['op']} {check['value']}")
        return outcome
    metric_note = f"{check['expr']} = {seen:g} ({check['op']} {check['value']}) after {time.monotonic() - started:.0f}s"
    alert = check.get("alert")
    if alert:
        match = {k: v for k, v in (check.get("labels") or {}).items() if v}
        try:
            progress(f"  metric recovered; waiting up to {max(deadline - time.monotonic(), 0):.0f}s "
                     f"for {alert} to resolve")
            alert_wait.wait_for(server, alertmanager, alert, False, max(deadline - time.monotonic(), 1),
                                match=match, poll=1.0)
            metric_note += f"; {alert} resolved"
        except (DemoError, requests.RequestException) as exc:
            outcome.verified = False
            outcome.verification = f"{metric_note}; but {alert} still active: {exc}"
            return outcome
    outcome.verified = True
    outcome.verification = metric_note
    outcome.seconds_to_verify = round(time.monotonic() - started, 1)
    return outcome
