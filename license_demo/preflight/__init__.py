"""`license-demo preflight`: the guide's "Setup Before Demo" as one command.

Each check prints one line, ✓ or ✗ (– when not configured or when what it needs failed
above), and every ✗ says what to do. `run()` returns the report; the exit code is non-zero
when any line is ✗.
"""
from __future__ import annotations

from typing import Callable

from license_demo.preflight import (clock_checks, grafana_checks, loki_checks, notification_checks,
                                    prometheus_checks, server_checks, stress_check, tabs)
from license_demo.preflight.report import FAIL, PASS, SKIP, Line, Report
from license_demo.preflight.targets import Targets

__all__ = ["FAIL", "PASS", "SKIP", "Line", "Report", "Targets", "run"]


def run(targets: Targets, out: Callable[[str], None] = print) -> Report:
    """Every check against `targets`, in the order the guide prepares the demo."""
    report = Report(out=out)
    reachable = {"server": server_checks.run(targets, report)}
    if targets.prometheus:
        reachable["prometheus"] = prometheus_checks.run(targets, report)
    else:
        report.skip("prometheus.reachable", "no Prometheus URL: detection not checked")
    if targets.alertmanager:
        reachable["alertmanager"] = notification_checks.run(targets, report, reachable["server"])
    else:
        report.skip("alertmanager.reachable", "no Alertmanager URL: notifications not checked")
    loki_checks.run(targets, report)
    reachable["loki"] = report.passed("loki.roundtrip")
    reachable["grafana"] = grafana_checks.run(targets, report)
    clock_checks.run(targets, report, reachable)
    if reachable["server"]:
        stress_check.check(targets, report)
    urls = tabs.run(targets, report, reachable)
    failures = report.failures()
    out(f"\n{len(failures)} problem{'s' if len(failures) != 1 else ''} to fix before the demo."
        if failures else f"\nReady: all checks passed. Open the {len(urls)} tabs above.")
    return report
