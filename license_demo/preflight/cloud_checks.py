"""`license-demo preflight --cloud`: the guide's "Setup Before Demo" on Fly.io and Grafana Cloud.

The app (the same server checks as everywhere), then Grafana Cloud: its Prometheus holds fresh
series from the app (the scraper works), every alert of the rule source is loaded and none
fires, a test alert sent through its Alertmanager reaches the app's webhook, its Loki holds the
app's recent lines with the labels the dashboards query, each dashboard exists and its
datasources answer; the clocks, the stress test against the app, the tabs to open. Every call
carries the stack's credentials; none is printed.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable

import requests
import yaml

from license_demo.cloud.settings import CloudSettings
from license_demo.cloud.sources import duration_seconds
from license_demo.preflight import (_guarded, clock_checks, cloud_grafana_checks, server_checks, stress_check,
                                    tabs)
from license_demo.preflight.checklist import Report
from license_demo.preflight.cloud_grafana_checks import SETUP_FIX
from license_demo.preflight.notification_checks import PROBE_ALERT, WEBHOOK_PATH, _arrived, _iso
from license_demo.preflight.prometheus_checks import SERVER_JOB, judge_rules
from license_demo.preflight.targets import Targets, get, short_error

# The scraper scrapes every 15 s; two missed scrapes and the ingestion delay make a series stale.
FRESH_SECONDS = 60
LOG_WINDOW_MINUTES = 15
# Grafana Cloud's Alertmanager flushes a new group after group_wait; this much more is allowed.
NOTIFICATION_SLACK = 15.0
SCRAPER_FIX = ("deploy the scraper: `fly secrets set -a <scraper app> PROMETHEUS_REMOTE_WRITE_URL=... "
               "PROMETHEUS_USER=... PROMETHEUS_PASSWORD=...` then `fly deploy cloud/scraper`; "
               "`fly logs -a <scraper app>` shows its scrape and write errors")


def _refused(report: Report, key: str, what: str, answer: requests.Response, fix: str) -> bool:
    """A ✗ for a refused or failed answer; True when `answer` is a success."""
    if answer.status_code in (401, 403):
        report.fail(key, f"{what} refused the credentials (HTTP {answer.status_code})", fix)
        return False
    if answer.status_code != 200:
        report.fail(key, f"{what} answered HTTP {answer.status_code}: {answer.text.strip()[:160]}",
                    "check that the URL is the one the stack's details page shows")
        return False
    return True


def check_prometheus(settings: CloudSettings, report: Report) -> bool:
    """The Prometheus endpoint answers a query with the given credentials."""
    what = f"Grafana Cloud Prometheus at {settings.prometheus_url}"
    try:
        answer = get(settings.prometheus_url + "/api/v1/query", params={"query": "vector(1)"},
                     auth=settings.prometheus_auth)
    except requests.RequestException as exc:
        report.fail("cloud.prometheus", f"{what} unreachable ({short_error(exc)})",
                    "set PROMETHEUS_URL to the stack's Prometheus query endpoint (…grafana.net/api/prom)")
        return False
    if not _refused(report, "cloud.prometheus", what, answer,
                    "set PROMETHEUS_USER (the instance id) and PROMETHEUS_PASSWORD (an access policy token "
                    "with metrics:read and rules:read)"):
        return False
    report.ok("cloud.prometheus", f"{what} answers (credentials accepted)")
    return True


def _query(settings: CloudSettings, expr: str) -> list[dict]:
    """An instant query's result vector."""
    answer = get(settings.prometheus_url + "/api/v1/query", params={"query": expr}, auth=settings.prometheus_auth)
    answer.raise_for_status()
    return answer.json()["data"]["result"]


def check_scrape(settings: CloudSettings, report: Report) -> None:
    """Fresh `licenses_in_use` series of the app's scrape job: the scraper writes."""
    result = _query(settings, f'time() - max(timestamp(licenses_in_use{{job="{SERVER_JOB}"}}))')
    if not result:
        report.fail("cloud.scrape", f"Prometheus holds no licenses_in_use series of job `{SERVER_JOB}`: "
                                    "nothing scrapes the app", SCRAPER_FIX)
        return
    age = float(result[0]["value"][1])
    if age > FRESH_SECONDS:
        report.fail("cloud.scrape", f"the newest licenses_in_use sample is {age:.0f} s old "
                                    f"(more than {FRESH_SECONDS} s): the scraper stopped", SCRAPER_FIX)
        return
    report.ok("cloud.scrape", f"licenses_in_use from the app, newest sample {age:.0f} s old (the scraper writes)")


def check_rules(settings: CloudSettings, report: Report) -> None:
    """Every alert of the rule source is loaded in the ruler and evaluates."""
    answer = get(settings.prometheus_url + "/api/v1/rules", params={"type": "alert"}, auth=settings.prometheus_auth)
    answer.raise_for_status()
    judge_rules(report, "cloud.rules", answer.json()["data"]["groups"], SETUP_FIX,
                f"{settings.grafana_url}/alerting/list")


def check_quiet(settings: CloudSettings, report: Report) -> None:
    """No alert of the project firing."""
    answer = get(settings.prometheus_url + "/api/v1/alerts", auth=settings.prometheus_auth)
    answer.raise_for_status()
    alerts = [a for a in answer.json()["data"]["alerts"] if a["labels"].get("synthetic") != "true"]
    firing = sorted({a["labels"]["alertname"] for a in alerts if a["state"] == "firing"})
    if firing:
        report.fail("cloud.firing", f"firing now: {', '.join(firing)}",
                    "the audience must start from green: `license-demo reset`, then wait for the production "
                    "rate windows (5 minutes) and run again")
    else:
        report.ok("cloud.firing", "no alert firing")


def check_alertmanager(settings: CloudSettings, report: Report) -> dict | None:
    """The stored Alertmanager configuration, which must notify the app's webhook."""
    what = f"Grafana Cloud Alertmanager at {settings.alertmanager_url}"
    try:
        answer = get(settings.alertmanager_config_api, auth=settings.alertmanager_auth,
                     headers={"X-Scope-OrgID": settings.alertmanager_user})
    except requests.RequestException as exc:
        report.fail("cloud.alertmanager", f"{what} unreachable ({short_error(exc)})",
                    "set ALERTMANAGER_URL to the stack's Alertmanager URL (…grafana.net/alertmanager)")
        return None
    if answer.status_code == 404:
        report.fail("cloud.alertmanager", f"{what} holds no configuration", SETUP_FIX)
        return None
    if not _refused(report, "cloud.alertmanager", what, answer,
                    "set ALERTMANAGER_USER and ALERTMANAGER_PASSWORD (default: the PROMETHEUS_ ones; the token "
                    "needs alerts:read and alerts:write)"):
        return None
    config = yaml.safe_load((yaml.safe_load(answer.text) or {}).get("alertmanager_config") or "") or {}
    webhook = settings.server_url + WEBHOOK_PATH
    urls = {hook.get("url") for receiver in config.get("receivers", []) for hook in receiver.get("webhook_configs", [])}
    if webhook not in urls:
        report.fail("cloud.alertmanager", "the stored configuration notifies "
                                          f"{', '.join(sorted(urls)) or 'no webhook'}, "
                                          f"not {webhook}", SETUP_FIX)
        return None
    report.ok("cloud.alertmanager", f"{what}: configuration stored, notifying {webhook}")
    return config


def _post_probe(settings: CloudSettings, labels: dict, ends: datetime) -> None:
    """The probe alert into the stack's Alertmanager (v2 API); `ends` in the past resolves it."""
    body = [{"labels": labels, "annotations": {"summary": "Preflight test notification: ignore it"},
             "startsAt": _iso(datetime.now(timezone.utc) - timedelta(seconds=1)), "endsAt": _iso(ends)}]
    requests.post(settings.alertmanager_api + "/api/v2/alerts", json=body, auth=settings.alertmanager_auth,
                  headers={"X-Scope-OrgID": settings.alertmanager_user}, timeout=10).raise_for_status()


def check_notification(settings: CloudSettings, targets: Targets, report: Report, config: dict,
                       server_ok: bool) -> None:
    """A synthetic alert goes through the stack's Alertmanager to the app's webhook."""
    if not server_ok:
        report.skip("cloud.notification", "test notification skipped: the app does not answer")
        return
    timeout = duration_seconds(config.get("route", {}).get("group_wait", "30s"), default=30.0) + NOTIFICATION_SLACK
    probe = uuid.uuid4().hex[:12]
    labels = {"alertname": PROBE_ALERT, "synthetic": "true", "probe": probe, "severity": "info"}
    started = time.monotonic()
    _post_probe(settings, labels, datetime.now(timezone.utc) + timedelta(minutes=5))
    try:
        arrived = None
        while arrived is None and time.monotonic() - started < timeout:
            time.sleep(0.5)
            arrived = _arrived(targets, probe)
    finally:
        _post_probe(settings, labels, datetime.now(timezone.utc))
    if arrived:
        report.ok("cloud.notification", f"test notification {PROBE_ALERT} went through Grafana Cloud's Alertmanager "
                                        f"to the app's webhook in {time.monotonic() - started:.1f} s")
    else:
        report.fail("cloud.notification", f"test notification did not reach {settings.server_url}{WEBHOOK_PATH} "
                                          f"within {timeout:.0f} s",
                    "the app must hold the same ALERT_WEBHOOK_TOKEN as the configuration: `fly secrets set "
                    "ALERT_WEBHOOK_TOKEN=...` with the value given to `license-demo cloud`, then run "
                    "`license-demo cloud` again; Grafana Cloud's Alertmanager lists failed notifications "
                    "under Alerting → Contact points")


def check_loki(settings: CloudSettings, report: Report) -> None:
    """Recent lines of the app, with the stream labels the dashboards query (app, level, event)."""
    if not settings.loki_url:
        report.skip("cloud.loki", "no LOKI_URL: the log panels not checked")
        return
    what = f"Grafana Cloud Loki at {settings.loki_url}"
    now = time.time_ns()
    params = {"query": '{app="license-server"}', "start": str(now - LOG_WINDOW_MINUTES * 60 * 10**9),
              "end": str(now), "limit": "200"}
    try:
        answer = get(settings.loki_url + "/loki/api/v1/query_range", params=params, auth=settings.loki_auth)
    except requests.RequestException as exc:
        report.fail("cloud.loki", f"{what} unreachable ({short_error(exc)})",
                    "set LOKI_URL to the stack's Loki URL (https://logs-prod-NNN.grafana.net)")
        return
    if not _refused(report, "cloud.loki", what, answer,
                    "set LOKI_USER (the Loki user id) and LOKI_PASSWORD (a token with logs:read)"):
        return
    streams = answer.json()["data"]["result"]
    labelled = [s for s in streams if {"level", "event"} <= set(s.get("stream", {}))]
    lines = sum(len(s.get("values", [])) for s in labelled)
    if not lines:
        report.fail("cloud.loki", f"no line of the app labelled app, level and event in the last "
                                  f"{LOG_WINDOW_MINUTES} minutes",
                    "the app pushes its own lines: `fly secrets set LOKI_URL=... LOKI_USER=... LOKI_PASSWORD=...` "
                    "(a token with logs:write) on the app")
        return
    events = sorted({s["stream"]["event"] for s in labelled})
    report.ok("cloud.loki", f"{lines} recent lines of the app with the dashboards' labels "
                            f"(events: {', '.join(events)})")


def run(settings: CloudSettings, targets: Targets, out: Callable[[str], None] = print) -> Report:
    """Every check of the cloud stage, in the order the guide prepares the demo."""
    report = Report(out=out)
    server_ok = _guarded(report, "server", targets.server, lambda: server_checks.run(targets, report))
    report.section(f"Grafana Cloud Prometheus {settings.prometheus_url}")
    if _guarded(report, "cloud.prometheus", settings.prometheus_url, lambda: check_prometheus(settings, report)):
        for check in (check_scrape, check_rules, check_quiet):
            _guarded(report, "cloud.prometheus", settings.prometheus_url, lambda c=check: c(settings, report))
    report.section(f"Grafana Cloud Alertmanager {settings.alertmanager_url}")
    found: dict = {}
    _guarded(report, "cloud.alertmanager", settings.alertmanager_url,
             lambda: found.update(config=check_alertmanager(settings, report)))
    config = found.get("config")
    if config is not None:
        _guarded(report, "cloud.alertmanager", settings.alertmanager_url,
                 lambda: check_notification(settings, targets, report, config, server_ok))
    else:
        report.skip("cloud.notification", "test notification skipped: the Alertmanager is not set up")
    report.section(f"Grafana Cloud Loki {settings.loki_url}")
    _guarded(report, "cloud.loki", settings.loki_url, lambda: check_loki(settings, report))
    report.section(f"Grafana {settings.grafana_url}")
    grafana_ok = _guarded(report, "grafana", settings.grafana_url,
                          lambda: cloud_grafana_checks.run(settings, targets, report))
    clock_checks.run(targets, report, {"server": server_ok, "grafana": grafana_ok})
    if server_ok:
        stress_check.check(targets, report)
    urls = tabs.check(report, cloud_grafana_checks.tabs(settings))
    failures = report.failures()
    out(f"\n{len(failures)} problem{'s' if len(failures) != 1 else ''} to fix before the demo."
        if failures else f"\nReady: all checks passed. Open the {len(urls)} tabs above.")
    return report
