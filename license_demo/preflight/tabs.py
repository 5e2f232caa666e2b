"""The browser tabs to open before the audience arrives, each checked to answer."""
from __future__ import annotations

import requests

from license_demo import ui_links
from license_demo.preflight.grafana_checks import dashboards
from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import Targets, get


def tabs(targets: Targets, reachable: dict[str, bool]) -> list[tuple[str, str]]:
    """(name, URL) of every page the guide shows, for the parts of the stack that answered."""
    found = []
    if reachable.get("server"):
        found += [("dashboard", f"{targets.server}/dashboard"), ("config", f"{targets.server}/config"),
                  ("incidents", f"{targets.server}/incidents"), ("metrics", f"{targets.server}/metrics")]
    if reachable.get("grafana"):
        found += [(title, f"{targets.grafana}/d/{uid}") for uid, title in dashboards().items()]
        found.append(("Grafana Explore (Loki)", f"{targets.grafana}/explore"))
    if reachable.get("prometheus"):
        found.append(("Prometheus alerts",
                      f"{targets.prometheus}{ui_links.prometheus_ui_prefix(targets.prometheus)}/alerts"))
    if reachable.get("alertmanager"):
        found.append(ui_links.alertmanager_alerts_page(targets.alertmanager))
    return found


def run(targets: Targets, report: Report, reachable: dict[str, bool]) -> list[str]:
    """Check every tab answers; return the URLs in the order to open them."""
    return check(report, tabs(targets, reachable))


def check(report: Report, pages: list[tuple[str, str]]) -> list[str]:
    """Check every (name, URL) answers; return the URLs in the order to open them."""
    report.section("Tabs to open")
    urls = []
    for name, url in pages:
        try:
            status = get(url.split("#", 1)[0]).status_code
        except requests.RequestException as exc:
            status = str(exc)[:80]
        if status == 200:
            report.ok(f"tab.{name}", f"{name:<26} {url}")
            urls.append(url)
        else:
            report.fail(f"tab.{name}", f"{name:<26} {url} answered {status}",
                        "the page must load before the audience sees it: check the service's log")
    return urls
