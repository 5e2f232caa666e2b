"""The rule and notification configuration: generated files in sync, promtool and amtool pass."""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from license_demo import deploy_configs

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "prometheus"


def _generator():
    """Import prometheus/generate_rules.py (a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("generate_rules",
                                                  PROMETHEUS_DIR / "generate_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run a command and fail the test with its output when it exits non-zero."""
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} is not installed: run scripts/install-system-deps.sh")
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_generated_rules_and_tests_match_sources():
    """Regenerating from rules.src.yml and tests.src.yml gives the committed files."""
    for path, text in _generator().render_all().items():
        assert path.exists(), f"{path} is missing: run `make rules`"
        assert path.read_text() == text, f"{path} is out of date: run `make rules`"


def test_profiles_share_expressions_apart_from_windows():
    """Production and demo rules are the same apart from windows and `for:` durations."""
    def shape(profile):
        data = yaml.safe_load((PROMETHEUS_DIR / "rules" / f"{profile}.yml").read_text())
        rules = [rule for group in data["groups"] for rule in group["rules"]]
        def windowless(expr):
            """`expr` with its range windows and offsets replaced by W."""
            return re.sub(r"(\[|offset )\d+[smh]\]?", r"\1W", expr)
        return [{**rule, "expr": windowless(rule["expr"]),
                 "for": "F" if "for" in rule else None} for rule in rules]
    assert shape("production") == shape("demo")
    production = (PROMETHEUS_DIR / "rules" / "production.yml").read_text()
    demo = (PROMETHEUS_DIR / "rules" / "demo.yml").read_text()
    assert "[5m]" in production and "for: 5m" in production
    assert "[30s]" in demo and "for: 4s" in demo and "[5m]" not in demo


def test_unknown_placeholder_is_a_clear_error():
    """A [[name]] no setting defines is reported by name."""
    with pytest.raises(KeyError, match=r"\[\[no_such_setting\]\]"):
        _generator().fill("rate(x[[[no_such_setting]]])", {"window": "5m"})


def test_promtool_check_rules():
    """Both rule profiles pass `promtool check rules`."""
    _run(["promtool", "check", "rules", "prometheus/rules/production.yml",
          "prometheus/rules/demo.yml"])


def test_promtool_unit_tests_pass():
    """Every alert's promtool unit tests pass in both profiles."""
    result = _run(["promtool", "test", "rules", "tests/production.test.yml",
                   "tests/demo.test.yml"], cwd=PROMETHEUS_DIR)
    assert result.stdout.count("SUCCESS") == 2


def test_promtool_unit_tests_catch_a_broken_threshold(tmp_path):
    """The unit tests fail when an alert threshold is changed behind their back."""
    rules = (PROMETHEUS_DIR / "rules" / "demo.yml").read_text()
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "rules" / "demo.yml").write_text(rules.replace("> 0.3", "> 0.8"))
    shutil.copy(PROMETHEUS_DIR / "tests" / "demo.test.yml", tmp_path / "tests")
    result = subprocess.run(["promtool", "test", "rules", "tests/demo.test.yml"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "HighOverageRate" in result.stdout + result.stderr


def test_every_alert_has_unit_tests_and_a_runbook_section():
    """Each alert appears in both test files and links to an existing runbook anchor."""
    runbook = (REPO / "docs" / "runbooks.md").read_text()
    anchors = {heading.strip().lower() for heading in re.findall(r"^## (.+)$", runbook, re.M)}
    data = yaml.safe_load((PROMETHEUS_DIR / "rules" / "production.yml").read_text())
    alerts = [rule for group in data["groups"] for rule in group["rules"] if "alert" in rule]
    assert len({rule["alert"] for rule in alerts}) == 7
    for profile in ("production", "demo"):
        tests = (PROMETHEUS_DIR / "tests" / f"{profile}.test.yml").read_text()
        for rule in alerts:
            assert f"alertname: {rule['alert']}" in tests
    for rule in alerts:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["runbook_url"].split("#")[1] in anchors
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url",
                                            "dashboard", "logs"}
        assert "license-business-metrics" in rule["annotations"]["dashboard"]


def _native_addresses(tmp_path):
    """Loopback addresses as the native stack would use them."""
    return deploy_configs.native_addresses(18000, 19090, 19093, tmp_path / "secrets")


FULL_ENV = {"SMTP_SMARTHOST": "smtp.example.com:587", "SMTP_FROM": "alerts@example.com",
            "SMTP_TO": "admins@example.com", "SMTP_USERNAME": "alerts@example.com",
            "SLACK_WEBHOOK_URL_FILE": "/run/secrets/slack"}


def test_committed_prometheus_config_is_valid():
    """`promtool check config` accepts the compose prometheus.yml (and finds its rules)."""
    _run(["promtool", "check", "config", "prometheus/prometheus.yml"])


def test_native_prometheus_config_matches_compose_apart_from_addresses(tmp_path):
    """The native copy differs from prometheus.yml only in addresses and the rules path."""
    addresses = _native_addresses(tmp_path)
    paths = deploy_configs.write_configs(tmp_path, addresses, "demo", FULL_ENV)
    _run(["promtool", "check", "config", str(paths[0])])
    native = paths[0].read_text()
    assert "license-server:8000" not in native and "127.0.0.1:18000" in native
    for compose_address, native_address in (("license-server:8000", "127.0.0.1:18000"),
                                            ("alertmanager:9093", "127.0.0.1:19093"),
                                            ("localhost:9090", "127.0.0.1:19090"),
                                            ("rules/demo.yml", f"{deploy_configs.RULES_DIR}/demo.yml")):
        native = native.replace(native_address, compose_address)
    committed = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    assert yaml.safe_load(native) == committed


def test_native_alertmanager_config_matches_compose_apart_from_addresses(tmp_path):
    """Native and compose Alertmanager configs agree apart from addresses and file paths."""
    native, _ = deploy_configs.render_alertmanager(_native_addresses(tmp_path), "demo",
                                                      FULL_ENV)
    compose, _ = deploy_configs.render_alertmanager(deploy_configs.COMPOSE, "demo",
                                                       FULL_ENV)
    text = yaml.safe_dump(native)
    for native_part, compose_part in (
            ("127.0.0.1:18000", "license-server:8000"),
            (str(deploy_configs.TEMPLATES_DIR), "/etc/alertmanager/templates"),
            (str(tmp_path / "secrets"), "/etc/alertmanager/secrets"),
            ("/run/secrets/slack", "/etc/alertmanager/secrets/slack-webhook-url")):
        text = text.replace(native_part, compose_part)
    assert yaml.safe_load(text) == compose


def test_alertmanager_configs_pass_amtool(tmp_path):
    """amtool accepts the committed file and the rendered variants (all channels, none)."""
    _run(["amtool", "check-config", "alertmanager/alertmanager.yml"])
    for name, env in (("full", FULL_ENV), ("webhook-only", {})):
        for profile in ("demo", "production"):
            config, _ = deploy_configs.render_alertmanager(_native_addresses(tmp_path),
                                                             profile, env)
            path = tmp_path / f"{name}-{profile}.yml"
            path.write_text(yaml.safe_dump(config))
            result = _run(["amtool", "check-config", str(path)])
            assert "1 templates" in result.stdout


def test_alertmanager_routes_by_severity_and_groups_by_tool():
    """Critical goes to email, Slack and the webhook; warning to Slack and the webhook."""
    config, notes = deploy_configs.render_alertmanager(deploy_configs.COMPOSE, "demo",
                                                         FULL_ENV)
    route = config["route"]
    assert route["group_by"] == ["alertname", "tool"]
    assert route["group_wait"] == "2s"
    receivers = {r["name"]: r for r in config["receivers"]}
    by_severity = {m["matchers"][0]: m["receiver"] for m in route["routes"]}
    critical = receivers[by_severity['severity="critical"']]
    warning = receivers[by_severity['severity="warning"']]
    assert {"email_configs", "slack_configs", "webhook_configs"} <= set(critical)
    assert {"slack_configs", "webhook_configs"} <= set(warning) and "email_configs" not in warning
    assert critical["email_configs"][0]["to"] == "admins@example.com"
    assert config["global"]["smtp_auth_password_file"] == "/etc/alertmanager/secrets/smtp-password"
    for receiver in receivers.values():
        assert receiver["webhook_configs"][0]["url"] == \
            "http://license-server:8000/api/alerts/webhook"
    production, _ = deploy_configs.render_alertmanager(deploy_configs.COMPOSE,
                                                         "production", {})
    assert production["route"]["group_wait"] == "30s"
    assert all("email_configs" not in r and "slack_configs" not in r
               for r in production["receivers"])


def test_smtp_password_is_written_to_a_private_file_not_the_config(tmp_path):
    """SMTP_PASSWORD ends up in a 0600 file; the rendered config only names the file."""
    env = {**FULL_ENV, "SMTP_PASSWORD": "s3cret-value"}
    _, alertmanager_path, _ = deploy_configs.write_configs(
        tmp_path, _native_addresses(tmp_path), "demo", env)
    assert "s3cret-value" not in alertmanager_path.read_text()
    secret = tmp_path / "secrets" / "smtp-password"
    assert secret.read_text() == "s3cret-value"
    assert secret.stat().st_mode & 0o777 == 0o600
