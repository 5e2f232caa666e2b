"""Alertmanager: reachable, and a synthetic alert travels through it to the server's webhook."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from rule_source.durations import duration_seconds
from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import TIMEOUT, Targets, get, short_error

PROBE_ALERT = "PreflightProbe"
WEBHOOK_PATH = "/api/alerts/webhook"
# Alertmanager's counters per integration: attempts and failed attempts (each retry counts).
COUNTERS = {"alertmanager_notification_requests": "requests",
            "alertmanager_notification_requests_failed": "failed"}
# How long Slack or email may take once the webhook has the probe.
CHANNEL_TIMEOUT = 15.0


def _iso(at: datetime) -> str:
    """A time as Alertmanager's API wants it."""
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _notifications(targets: Targets) -> dict[tuple[str, str], float]:
    """Alertmanager's notification request counters, summed per (integration, requests|failed)."""
    counts: dict[tuple[str, str], float] = {}
    text = get(targets.alertmanager + "/metrics").text
    for family in text_string_to_metric_families(text):
        kind = COUNTERS.get(family.name)
        for sample in family.samples if kind else ():
            if sample.name.endswith("_total"):
                key = (sample.labels.get("integration", ""), kind)
                counts[key] = counts.get(key, 0.0) + sample.value
    return counts


def _failed(targets: Targets, integration: str) -> float:
    """Failed notifications of one integration so far."""
    return _notifications(targets).get((integration, "failed"), 0.0)


def _probe_group(targets: Targets) -> bool:
    """Whether Alertmanager may still hold a group of earlier probes.

    Its groups API hides a group whose alerts are all resolved but not yet notified, so a
    probe the server recorded as firing (its resolved notification still to come) counts too.
    """
    groups = get(targets.alertmanager + "/api/v2/alerts/groups").json()
    if any(group.get("labels", {}).get("alertname") == PROBE_ALERT for group in groups):
        return True
    return any(alert.get("labels", {}).get("alertname") == PROBE_ALERT and alert.get("status") == "firing"
               for alert in get(targets.server + "/api/alerts").json())


def _config(targets: Targets) -> dict:
    """The configuration Alertmanager runs with (GET /api/v2/status)."""
    status = get(targets.alertmanager + "/api/v2/status").json()
    return yaml.safe_load(status["config"]["original"]) or {}


def _channels(config: dict) -> list[str]:
    """Which of Slack and email some receiver uses."""
    kinds = {"slack_configs": "slack", "email_configs": "email"}
    return sorted({kinds[key] for receiver in config.get("receivers", []) for key in kinds if receiver.get(key)})


def _webhook_urls(config: dict) -> list[str]:
    """Every webhook URL of every receiver."""
    return sorted({hook.get("url", "") for receiver in config.get("receivers", [])
                   for hook in receiver.get("webhook_configs", [])})


def check_reachable(targets: Targets, report: Report) -> bool:
    """Alertmanager answers its ready endpoint."""
    try:
        answer = get(targets.alertmanager + "/-/ready")
    except requests.RequestException as exc:
        report.fail("alertmanager.reachable", f"Alertmanager at {targets.alertmanager} unreachable "
                                              f"({short_error(exc)})",
                    "start it (`license-demo stack` starts one, `make up` in compose) or point "
                    "--alertmanager / ALERTMANAGER_URL at it")
        return False
    if answer.status_code != 200:
        report.fail("alertmanager.reachable", f"{targets.alertmanager}/-/ready answered HTTP {answer.status_code}",
                    "check --alertmanager / ALERTMANAGER_URL points at Alertmanager; if it does, its log says "
                    "why it is not ready")
        return False
    report.ok("alertmanager.reachable", f"Alertmanager answers at {targets.alertmanager}")
    return True


def _send_probe(targets: Targets, labels: dict, ends: datetime) -> None:
    """Post the probe alert to Alertmanager's v2 API (ends in the past: resolved)."""
    now = datetime.now(timezone.utc)
    body = [{"labels": labels,
             "annotations": {"summary": "Preflight test notification: ignore it",
                             "description": "license-demo preflight checks that notifications arrive."},
             "startsAt": _iso(now - timedelta(seconds=1)), "endsAt": _iso(ends)}]
    requests.post(targets.alertmanager + "/api/v2/alerts", json=body, timeout=TIMEOUT).raise_for_status()


def _arrived(targets: Targets, probe: str) -> dict | None:
    """The probe as the server's webhook recorded it, if it has arrived."""
    for alert in get(targets.server + "/api/alerts").json():
        if alert.get("labels", {}).get("probe") == probe:
            return alert
    return None


def check_notification(targets: Targets, report: Report, server_ok: bool) -> None:
    """A synthetic alert goes through Alertmanager to the server's webhook (and Slack/email)."""
    if not server_ok:
        report.skip("alertmanager.notification", "test notification skipped: the license server does not answer")
        return
    config = _config(targets)
    channels = _channels(config)
    route = config.get("route", {})
    group_wait = duration_seconds(route.get("group_wait", "30s"), default=0.0)
    # A probe joining an existing group (an earlier probe's) waits for its next group_interval tick.
    group_interval = duration_seconds(route.get("group_interval", "5m"), default=0.0)
    timeout = group_wait + 10 + (group_interval if _probe_group(targets) else 0)
    probe = uuid.uuid4().hex[:12]
    # Critical routes through every channel; info stays on the server's webhook.
    labels = {"alertname": PROBE_ALERT, "synthetic": "true", "probe": probe,
              "severity": "critical" if channels else "info"}
    before = _notifications(targets)
    started = time.monotonic()
    _send_probe(targets, labels, datetime.now(timezone.utc) + timedelta(minutes=5))
    arrived = None
    try:
        while time.monotonic() - started < timeout and arrived is None:
            time.sleep(0.5)
            arrived = _arrived(targets, probe)
            # A failed webhook request after the group's first flush is this probe's: stop waiting.
            if (arrived is None and time.monotonic() - started > group_wait
                    and _failed(targets, "webhook") > before.get(("webhook", "failed"), 0)):
                break
        took = time.monotonic() - started
        after = _await_channels(targets, channels, before) if arrived else _notifications(targets)
    finally:
        _send_probe(targets, labels, datetime.now(timezone.utc))
    failed = {i: after.get((i, "failed"), 0) - before.get((i, "failed"), 0) for i, _ in after}
    if arrived:
        report.ok("alertmanager.notification", f"test notification {PROBE_ALERT} went through Alertmanager to "
                                               f"the server's webhook in {took:.1f} s")
    else:
        urls = _webhook_urls(config)
        why = (f"; webhook requests failed {failed['webhook']:.0f} times" if failed.get("webhook") else "")
        report.fail("alertmanager.notification", f"test notification did not reach {targets.server}{WEBHOOK_PATH} "
                                                 f"within {timeout:.0f} s{why}",
                    (f"Alertmanager's receivers post to {', '.join(urls)}; " if urls else "")
                    + f"point webhook_configs url at {targets.server}{WEBHOOK_PATH} (with the webhook's "
                      f"bearer token, if the server requires one) and reload: curl -X POST "
                      f"{targets.alertmanager}/-/reload; Alertmanager's log names the failing receiver")
    check_channels(targets, report, channels, before, after)


def _delivered(before: dict, after: dict, channel: str) -> bool:
    """Whether some request of `channel` since `before` succeeded."""
    requests_made = after.get((channel, "requests"), 0) - before.get((channel, "requests"), 0)
    failures = after.get((channel, "failed"), 0) - before.get((channel, "failed"), 0)
    return requests_made > failures


def _await_channels(targets: Targets, channels: list[str], before: dict) -> dict:
    """Alertmanager's counters once every channel delivered the probe, or after CHANNEL_TIMEOUT."""
    deadline = time.monotonic() + CHANNEL_TIMEOUT
    while True:
        after = _notifications(targets)
        if all(_delivered(before, after, c) for c in channels) or time.monotonic() > deadline:
            return after
        time.sleep(0.5)


def check_channels(targets: Targets, report: Report, channels: list[str], before: dict, after: dict) -> None:
    """Slack and email, when a receiver uses them: Alertmanager delivered the probe through each."""
    if not channels:
        report.skip("alertmanager.channels", "Slack and email not configured (only the server's webhook)")
        return
    bad = [c for c in channels if not _delivered(before, after, c)]
    if bad:
        report.fail("alertmanager.channels", f"test notification not delivered by {', '.join(bad)} "
                                             f"within {CHANNEL_TIMEOUT:.0f} s",
                    "check the Slack webhook URL file (SLACK_WEBHOOK_URL_FILE) or the SMTP_* settings; "
                    "Alertmanager's log says why the delivery failed")
    else:
        report.ok("alertmanager.channels", f"test notification delivered by {' and '.join(channels)} "
                                           "(look for it in the channel / inbox)")


def run(targets: Targets, report: Report, server_ok: bool) -> bool:
    """Every Alertmanager check; False when Alertmanager does not answer."""
    report.section(f"Alertmanager {targets.alertmanager}")
    if not check_reachable(targets, report):
        return False
    check_notification(targets, report, server_ok)
    return True
