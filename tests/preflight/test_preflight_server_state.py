"""Preflight on the shared native stack: all ✓, then one server-side thing broken at a time."""
from __future__ import annotations

import pytest
import requests

from preflight_helpers import failed, preflight, targets_for
from license_demo.cli import main
from license_demo.preflight import PASS, SKIP, server_checks
from license_server import events
from support.polling import wait_for

pytestmark = pytest.mark.stack
STORY_TOOL = "Vector - DaVinci Configurator SE"
# The server's lines with Prometheus's around them; the test notification and the stress test
# are proven once above (each probe waits out Alertmanager's group_interval after the last).
SERVER_ONLY = {"alertmanager": "", "stress_test": False}


def test_all_checks_pass_on_the_native_stack(quiet_stack):
    report, text = preflight(targets_for(quiet_stack))
    assert failed(report) == {}, text
    marks = {line.key: line.mark for line in report.lines}
    for key in ("server.answers", "server.admin_token", "server.database", "server.config", "server.seats",
                "server.faults", "prometheus.target", "prometheus.rules", "prometheus.firing",
                "alertmanager.reachable", "alertmanager.notification", "clock.server", "clock.prometheus",
                "clock.alertmanager", "stress.reach"):
        assert marks[key] == PASS, text
    # Not configured on the native stack: said so, not passed.
    assert marks["loki.roundtrip"] == marks["grafana.health"] == marks["alertmanager.channels"] == SKIP
    # The probe really went through Alertmanager to the webhook record, marked synthetic.
    probes = [a for a in quiet_stack.alerts_received() if a["labels"]["alertname"] == "PreflightProbe"]
    assert probes and all(a["labels"]["synthetic"] == "true" for a in probes)
    tabs = [line.detail for line in report.lines if line.key.startswith("tab.")]
    assert any(f"{quiet_stack.server_url}/dashboard" in tab for tab in tabs)
    # Debian's Alertmanager has no web UI: the tab is its alerts API, not a placeholder page.
    assert any(f"{quiet_stack.alertmanager_url}/api/v2/alerts" in tab for tab in tabs), tabs
    assert text.rstrip().endswith("Open the 6 tabs above.")
    # The settings compared with the story are the ones the server's OpenAPI says it changes.
    assert server_checks.config_fields(targets_for(quiet_stack)) == events.CONFIG_FIELDS


def test_a_seat_left_held_is_the_only_failure(quiet_stack):
    borrow = requests.post(f"{quiet_stack.server_url}/api/borrow", timeout=10,
                           json={"tool": STORY_TOOL, "user": "left-over", "team": "body"})
    assert borrow.status_code == 201
    report, text = preflight(targets_for(quiet_stack, **SERVER_ONLY))
    fixes = failed(report)
    assert list(fixes) == ["server.seats"], text
    assert "1 seats held (by left-over)" in text
    assert "--reset" in fixes["server.seats"] and "force-return" in fixes["server.seats"]


def test_a_fault_on_is_the_only_failure(quiet_stack):
    quiet_stack.admin("PUT", "/api/faults/dashboard_js_error", {"variant": "on"})
    report, text = preflight(targets_for(quiet_stack, **SERVER_ONLY))
    fixes = failed(report)
    assert list(fixes) == ["server.faults"], text
    assert "dashboard_js_error=on" in text and "every fault off" in fixes["server.faults"]


def test_a_wrong_admin_token_is_the_only_failure(quiet_stack):
    report, text = preflight(targets_for(quiet_stack, admin_token="not-the-token", **SERVER_ONLY))
    fixes = failed(report)
    assert list(fixes) == ["server.admin_token"], text
    assert "HTTP 401" in text and "--admin-token or ADMIN_TOKEN" in fixes["server.admin_token"]


def test_cli_exits_non_zero_then_reset_restores_the_story(quiet_stack, capsys):
    quiet_stack.admin("PUT", f"/api/config/tools/{STORY_TOOL}", {"commit": 10, "max_overage": 10})
    quiet_stack.admin("PUT", "/api/faults/borrow_latency", {"variant": "250ms"})
    argv = ["preflight", "--server", quiet_stack.server_url, "--admin-token", quiet_stack.admin_token,
            "--prometheus", quiet_stack.prometheus_url, "--alertmanager", "",
            "--loki", "", "--grafana", "", "--no-stress-test"]
    assert main(argv) == 1
    first = capsys.readouterr().out
    assert f"✗ configuration differs from the story's start: {STORY_TOOL} commit 10 (story: 5)" in first
    assert "2 problems to fix before the demo." in first
    assert main(argv + ["--reset"]) == 0, capsys.readouterr().out
    assert quiet_stack.admin("GET", f"/api/tools/{STORY_TOOL}").json()["commit"] == 5


def test_the_baseline_is_normal_operations_and_a_build_seat_is_not(quiet_stack):
    """Seats of the stack's baseline engineers are ✓ as normal operations; a build job's seat
    held next to them (the rehearsal's leftover) is still ✗ with its fix."""
    from license_demo.stack.baseline import BaselineLoad, is_baseline_seat

    baseline = BaselineLoad(quiet_stack.server_url, hold=(20.0, 25.0), think=(0.1, 0.3)).start()
    try:
        held = wait_for(lambda: requests.get(f"{quiet_stack.server_url}/api/borrows", timeout=10).json(), 15)
        assert held and all(is_baseline_seat(b) for b in held), held
        report, text = preflight(targets_for(quiet_stack, baseline=True, **SERVER_ONLY))
        assert failed(report) == {}, text
        assert "held by the stack's baseline engineers" in text and "normal operations" in text
        # Without the stack's word that its baseline runs, the same seats are leftovers.
        report, text = preflight(targets_for(quiet_stack, **SERVER_ONLY))
        assert list(failed(report)) == ["server.seats"], text

        build = requests.post(f"{quiet_stack.server_url}/api/borrow", timeout=10,
                              json={"tool": STORY_TOOL, "user": "ben", "team": "body-electronics",
                                    "lease_seconds": 300})
        assert build.status_code == 201
        report, text = preflight(targets_for(quiet_stack, baseline=True, **SERVER_ONLY))
        fixes = failed(report)
        assert list(fixes) == ["server.seats"], text
        assert "1 seats held (by ben), besides" in text and "--reset" in fixes["server.seats"]
    finally:
        baseline.stop()
        quiet_stack.reset()

