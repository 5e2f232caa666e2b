"""Preflight on a stack of its own: a rule file missing, a receiver pointing nowhere, Alertmanager stopped."""
from __future__ import annotations

import pytest
import requests
import yaml

from preflight_helpers import failed, preflight, targets_for
from license_demo.preflight import PASS
from support.loopback_peers import SMTPPeer
from support.processes import free_port

pytestmark = pytest.mark.stack


def _edit_config(stack, name: str, change) -> str:
    """Apply `change` to the stack's <name>.yml, reload the service; return the old text to restore."""
    path = stack.data_dir / "config" / f"{name}.yml"
    original = path.read_text()
    config = yaml.safe_load(original)
    change(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
    _reload(stack, name)
    return original


def _reload(stack, name: str) -> None:
    """POST /-/reload to Prometheus or Alertmanager."""
    url = stack.prometheus_url if name == "prometheus" else stack.alertmanager_url
    requests.post(url + "/-/reload", timeout=30).raise_for_status()


def _restore(stack, name: str, text: str) -> None:
    """Put back the original config and reload."""
    (stack.data_dir / "config" / f"{name}.yml").write_text(text)
    _reload(stack, name)


def test_a_receiver_pointing_nowhere_fails_the_notification_line(own_stack):
    nowhere = f"http://127.0.0.1:{free_port()}/api/alerts/webhook"

    def point_nowhere(config):
        for receiver in config["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = nowhere

    original = _edit_config(own_stack, "alertmanager", point_nowhere)
    try:
        report, text = preflight(targets_for(own_stack, stress_test=False))
    finally:
        _restore(own_stack, "alertmanager", original)
    fixes = failed(report)
    assert list(fixes) == ["alertmanager.notification"], text
    assert "did not reach" in text and "webhook requests failed" in text
    assert nowhere in fixes["alertmanager.notification"]
    assert f"{own_stack.server_url}/api/alerts/webhook" in fixes["alertmanager.notification"]


def test_an_email_receiver_gets_the_test_notification_too(own_stack):
    smtp = SMTPPeer()

    def add_email(config):
        config["global"].update(smtp_smarthost=smtp.address, smtp_from="alerts@example.com",
                                smtp_require_tls=False)
        critical = next(r for r in config["receivers"] if r["name"] == "critical")
        critical["email_configs"] = [{"to": "presenter@example.com"}]

    original = _edit_config(own_stack, "alertmanager", add_email)
    try:
        report, text = preflight(targets_for(own_stack, stress_test=False))
    finally:
        _restore(own_stack, "alertmanager", original)
        smtp.close()
    assert failed(report) == {}, text
    assert {line.key: line.mark for line in report.lines}["alertmanager.channels"] == PASS
    assert "test notification delivered by email" in text
    assert any("PreflightProbe" in message and "presenter@example.com" in message for message in smtp.messages)


def test_a_rule_file_missing_fails_the_rules_line(own_stack):
    original = _edit_config(own_stack, "prometheus",
                            lambda config: config.update(rule_files=[str(own_stack.data_dir / "missing.yml")]))
    try:
        report, text = preflight(targets_for(own_stack, alertmanager="", stress_test=False))
    finally:
        _restore(own_stack, "prometheus", original)
    fixes = failed(report)
    assert list(fixes) == ["prometheus.rules"], text
    assert "alerts not loaded: BorrowFailureSpike, HighOverageCostBurn, HighOverageRate" in text
    assert "rule_files" in fixes["prometheus.rules"] and "/-/reload" in fixes["prometheus.rules"]


def test_alertmanager_stopped_fails_only_its_line(own_stack):
    next(p for p in own_stack.processes if p.name == "alertmanager").stop()
    report, text = preflight(targets_for(own_stack, stress_test=False))
    fixes = failed(report)
    assert list(fixes) == ["alertmanager.reachable"], text
    assert "connection refused" in text and "license-demo stack" in fixes["alertmanager.reachable"]
    assert "Alertmanager" not in "".join(l.detail for l in report.lines if l.key.startswith("tab."))
