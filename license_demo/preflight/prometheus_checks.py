"""Prometheus: it scrapes the server, holds every alert of the rule set, none is firing."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import requests

import rule_source
from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import Targets, get, short_error
from license_demo.timestamps import epoch
from rule_source.durations import duration_seconds

SERVER_JOB = "license-server"


def expected_alerts() -> set[str]:
    """Every alert name of the project's rule set (prometheus/rules.src.yml, both profiles)."""
    return set(rule_source.load().alert_names)


def check_reachable(targets: Targets, report: Report) -> bool:
    """Prometheus answers its ready endpoint."""
    try:
        answer = get(targets.prometheus + "/-/ready")
    except requests.RequestException as exc:
        report.fail("prometheus.reachable", f"Prometheus at {targets.prometheus} unreachable ({short_error(exc)})",
                    "start it (`license-demo stack` or `make up`) or point --prometheus / PROMETHEUS_URL at it")
        return False
    if answer.status_code == 503:
        report.fail("prometheus.reachable", f"Prometheus at {targets.prometheus} not ready yet (HTTP 503)",
                    "wait until it has replayed its data (its log says `Server is ready`), then run again")
        return False
    if answer.status_code != 200:
        report.fail("prometheus.reachable", f"{targets.prometheus}/-/ready answered HTTP {answer.status_code}",
                    "this URL is not Prometheus: check --prometheus / PROMETHEUS_URL")
        return False
    report.ok("prometheus.reachable", f"Prometheus answers at {targets.prometheus}")
    return True


def check_scrape(targets: Targets, report: Report) -> None:
    """The license-server target is up and was scraped within two scrape intervals."""
    active = get(targets.prometheus + "/api/v1/targets", params={"state": "active"}).json()["data"]["activeTargets"]
    jobs = [t for t in active if t["labels"].get("job") == SERVER_JOB]
    if not jobs:
        report.fail("prometheus.target", f"Prometheus has no `{SERVER_JOB}` scrape job",
                    f"add a scrape job `{SERVER_JOB}` for {targets.server}/metrics to prometheus.yml "
                    "(python -m license_demo.deploy_configs renders one) and reload Prometheus")
        return
    server_host = urlsplit(targets.server).netloc
    target = next((t for t in jobs if urlsplit(t["scrapeUrl"]).netloc == server_host), jobs[0])
    interval = duration_seconds(target.get("scrapeInterval", ""), default=0.0) or 15.0
    age = time.time() - epoch(target["lastScrape"]) if not target["lastScrape"].startswith("0001") else None
    where = target["scrapeUrl"]
    if target["health"] != "up":
        report.fail("prometheus.target", f"scrape of {where} is {target['health']}: {target.get('lastError', '')}",
                    f"Prometheus cannot reach the server at {where}: check the target address in "
                    "prometheus.yml and that the server listens there")
    elif age is None or age > 2 * interval:
        report.fail("prometheus.target", f"last scrape of {where} was "
                                         f"{'never' if age is None else f'{age:.0f} s ago'} (interval {interval:g} s)",
                    "Prometheus has stalled scraping: look at its log, then restart it")
    else:
        report.ok("prometheus.target", f"Prometheus scrapes {where}: up, last scrape {age:.1f} s ago "
                                       f"(interval {interval:g} s)")


def judge_rules(report: Report, key: str, groups: list[dict], missing_fix: str, errors_at: str) -> None:
    """One line on the alert groups of a rules API answer: every alert of the rule set loaded and healthy."""
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    broken = sorted({rule["name"] for group in groups for rule in group["rules"] if rule.get("health") == "err"})
    missing = sorted(expected_alerts() - loaded)
    if missing:
        files = ", ".join(sorted({group["file"] for group in groups})) or "no rule file"
        report.fail(key, f"alerts not loaded: {', '.join(missing)} (loaded: {files})", missing_fix)
    elif broken:
        report.fail(key, f"alerts failing to evaluate: {', '.join(broken)}", f"see the errors on {errors_at}")
    else:
        report.ok(key, f"all {len(expected_alerts())} alerts of the rule set loaded")


def check_rules(targets: Targets, report: Report) -> None:
    """Every alert of prometheus/rules.src.yml is loaded and healthy."""
    groups = get(targets.prometheus + "/api/v1/rules", params={"type": "alert"}).json()["data"]["groups"]
    judge_rules(report, "prometheus.rules", groups,
                "list prometheus/rules/demo.yml (or production.yml) under rule_files in prometheus.yml, "
                f"then reload: curl -X POST {targets.prometheus}/-/reload (`make rules` regenerates the files)",
                f"{targets.prometheus}/rules")


def check_quiet(targets: Targets, report: Report) -> None:
    """No alert of the project firing (synthetic probes aside)."""
    alerts = get(targets.prometheus + "/api/v1/alerts").json()["data"]["alerts"]
    alerts = [a for a in alerts if a["labels"].get("synthetic") != "true"]
    firing = sorted({a["labels"]["alertname"] + (f" ({a['labels']['tool']})" if a["labels"].get("tool") else "")
                     for a in alerts if a["state"] == "firing"})
    pending = sum(1 for a in alerts if a["state"] == "pending")
    if firing:
        report.fail("prometheus.firing", f"firing now: {', '.join(firing)}",
                    "the audience must start from green: --reset (or `license-demo reset`) clears the cause, "
                    "then wait for the rate windows to pass (demo profile: about a minute) and run again")
    else:
        report.ok("prometheus.firing", "no alert firing" + (f" ({pending} pending)" if pending else ""))


def run(targets: Targets, report: Report) -> bool:
    """Every Prometheus check; False when Prometheus does not answer."""
    report.section(f"Prometheus {targets.prometheus}")
    if not check_reachable(targets, report):
        return False
    check_scrape(targets, report)
    check_rules(targets, report)
    check_quiet(targets, report)
    return True
