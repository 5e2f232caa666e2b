"""Clocks: every machine of the stack agrees with this one within a second.

A skewed clock breaks "time to detect": the alert's times come from Prometheus and
Alertmanager, the problem's start from the server and the presenter's machine.
"""
from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import requests

from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import Targets, get


def _date_header_bounds(url: str) -> tuple[float, float]:
    """Bounds of (peer clock − local clock) from an HTTP Date header (whole seconds)."""
    t0 = time.time()
    answer = get(url)
    t1 = time.time()
    stamp = parsedate_to_datetime(answer.headers["Date"]).timestamp()
    # The header truncates to the second: the peer's time lies in [stamp, stamp + 1).
    return stamp - t1, stamp + 1 - t0


def _prometheus_bounds(url: str) -> tuple[float, float]:
    """Bounds of (Prometheus clock − local clock) from `time()`, to the millisecond."""
    t0 = time.time()
    value = float(get(url + "/api/v1/query", params={"query": "time()"}).json()["data"]["result"][1])
    t1 = time.time()
    return value - t1, value - t0


def check_peer(report: Report, key: str, name: str, measure, url: str, tolerance: float) -> None:
    """One machine's clock against the local one."""
    try:
        low, high = measure(url)
    except (requests.RequestException, KeyError, ValueError, TypeError) as exc:
        report.fail(key, f"clock of {name}: not measurable ({str(exc)[:120]})",
                    f"{name} must answer {url} with a Date header")
        return
    offset = (low + high) / 2
    if low > tolerance or high < -tolerance:
        report.fail(key, f"clock of {name} is {offset:+.1f} s off this machine's (more than {tolerance:g} s)",
                    "synchronise both clocks with NTP (`timedatectl set-ntp true`, or `chronyc makestep`); "
                    "a skewed clock makes the measured time to detect wrong")
    else:
        report.ok(key, f"clock of {name} agrees with this machine's ({offset:+.2f} s, "
                       f"± {(high - low) / 2:.2f} s)")


def run(targets: Targets, report: Report, reachable: dict[str, bool]) -> None:
    """The clocks of every machine that answered above."""
    report.section("Clocks")
    peers = [("server", "the license server", _date_header_bounds, targets.server + "/healthz"),
             ("prometheus", "Prometheus", _prometheus_bounds, targets.prometheus),
             ("alertmanager", "Alertmanager", _date_header_bounds, targets.alertmanager + "/-/ready"),
             ("grafana", "Grafana", _date_header_bounds, targets.grafana + "/api/health"),
             ("loki", "Loki", _date_header_bounds, targets.loki + "/ready")]
    for role, name, measure, url in peers:
        if reachable.get(role):
            check_peer(report, f"clock.{role}", name, measure, url, targets.clock_tolerance)
