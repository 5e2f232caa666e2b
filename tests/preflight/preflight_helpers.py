"""Running the preflight in tests and reading its ✗ lines."""
from __future__ import annotations

from license_demo.preflight import FAIL, Report, Targets, run


def targets_for(stack, **overrides) -> Targets:
    """Preflight targets for a native stack."""
    settings = {"server": stack.server_url, "admin_token": stack.admin_token,
                "prometheus": stack.prometheus_url, "alertmanager": stack.alertmanager_url}
    return Targets(**{**settings, **overrides})


def preflight(targets: Targets) -> tuple[Report, str]:
    """Run the preflight; return its report and its printed text."""
    printed = []
    report = run(targets, out=printed.append)
    return report, "\n".join(printed)


def failed(report: Report) -> dict[str, str]:
    """The ✗ lines: key → fix."""
    return {line.key: line.fix for line in report.lines if line.mark == FAIL}
