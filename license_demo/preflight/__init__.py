"""`license-demo preflight`: the guide's "Setup Before Demo" as one command.

Each check prints one line, ✓ or ✗ (– when not configured or when what it needs failed
above), and every ✗ says what to do. `run()` returns the report; the exit code is non-zero
when any line is ✗.
"""
from __future__ import annotations

from typing import Callable

import requests

from license_demo.preflight import (clock_checks, grafana_checks, loki_checks, notification_checks,
                                    prometheus_checks, server_checks, stress_check, tabs)
from license_demo.preflight.checklist import FAIL, PASS, SKIP, Line, Report
from license_demo.preflight.targets import Targets

__all__ = ["FAIL", "PASS", "SKIP", "Line", "Report", "Targets", "run"]


def _guarded(report: Report, part: str, url: str, check: Callable[[], bool | None]) -> bool:
    """Run one part's checks; a service failing or answering nonsense midway is one ✗, not a traceback."""
    try:
        return bool(check())
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        report.fail(f"{part}.error", f"{part} at {url} failed midway ({type(exc).__name__}: {str(exc)[:160]})",
                    f"check that {url} is the {part} of this stack and that it stays up, then run again")
        return False


def run(targets: Targets, out: Callable[[str], None] = print) -> Report:
    """Every check against `targets`, in the order the guide prepares the demo."""
    report = Report(out=out)
    reachable = {"server": _guarded(report, "server", targets.server,
                                    lambda: server_checks.run(targets, report))}
    if targets.prometheus:
        reachable["prometheus"] = _guarded(report, "prometheus", targets.prometheus,
                                           lambda: prometheus_checks.run(targets, report))
    else:
        report.skip("prometheus.reachable", "no Prometheus URL: detection not checked")
    if targets.alertmanager:
        reachable["alertmanager"] = _guarded(
            report, "alertmanager", targets.alertmanager,
            lambda: notification_checks.run(targets, report, reachable["server"]))
    else:
        report.skip("alertmanager.reachable", "no Alertmanager URL: notifications not checked")
    _guarded(report, "loki", targets.loki, lambda: loki_checks.run(targets, report))
    reachable["loki"] = report.passed("loki.roundtrip")
    reachable["grafana"] = _guarded(report, "grafana", targets.grafana, lambda: grafana_checks.run(targets, report))
    clock_checks.run(targets, report, reachable)
    if reachable["server"]:
        stress_check.check(targets, report)
    urls = tabs.run(targets, report, reachable)
    failures = report.failures()
    out(f"\n{len(failures)} problem{'s' if len(failures) != 1 else ''} to fix before the demo."
        if failures else f"\nReady: all checks passed. Open the {len(urls)} tabs above.")
    return report
