"""The native stack's configurations mean the same from any working directory.

Prometheus and Alertmanager read a relative path in their configuration against the
configuration file's folder. The stack writes absolute paths, whatever form `--data-dir`
takes, and after start checks with the running processes that every rule group loaded and
every file Alertmanager names can be read.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from license_demo import deploy_configs
from license_demo.stack import loaded_check
from license_demo.stack.stack import Stack, StackSettings
from support.processes import free_port, spawn, wait_http

pytestmark = pytest.mark.stack


def paths_in(prometheus_yml: Path, alertmanager_yml: Path) -> list[str]:
    """Every file path the two configurations name."""
    prometheus = yaml.safe_load(prometheus_yml.read_text())
    alertmanager = yaml.safe_load(alertmanager_yml.read_text())
    return [*prometheus["rule_files"], *alertmanager["templates"],
            *loaded_check.file_paths(alertmanager)]


@pytest.mark.parametrize("data_dir", ["rel/my stack", "./.stack", "~/stack home"])
def test_every_written_path_is_absolute(tmp_path, monkeypatch, data_dir):
    """Relative, dotted, `~` and spaced data folders all give absolute, existing paths."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    stack = Stack(StackSettings(data_dir=Path(data_dir), admin_token="t"))
    assert stack.data_dir.is_absolute() and "~" not in str(stack.data_dir)
    config_dir = stack.data_dir / "config"
    addresses = deploy_configs.native_addresses(18000, 19090, 19093, config_dir / "secrets")
    rules = deploy_configs.write_native_rules(config_dir / "rules", "demo", "http://127.0.0.1:18000")
    addresses = deploy_configs.Addresses(**{**addresses.__dict__, "rules_dir": str(rules.parent)})
    prometheus_yml, alertmanager_yml, _ = deploy_configs.write_configs(config_dir, addresses, "demo", {})
    deploy_configs.write_webhook_token(Path(addresses.secrets_dir), "token")
    for path in paths_in(prometheus_yml, alertmanager_yml):
        assert Path(path).is_absolute(), path
        assert list(Path(path).parent.glob(Path(path).name)), path


def test_a_stack_started_from_a_relative_folder_with_spaces_loads_its_rules(tmp_path, monkeypatch):
    """Started from another directory with a relative data folder, the stack runs and its
    own check finds every rule group loaded and the webhook credential readable."""
    monkeypatch.chdir(tmp_path)
    settings = StackSettings(data_dir=Path("demo data/.stack"), admin_token="t")
    with Stack(settings) as stack:
        assert stack.data_dir == tmp_path / "demo data" / ".stack"
        rule_file = stack.data_dir / "config" / "rules" / "demo.yml"
        assert loaded_check.missing_rule_groups(stack.prometheus_url, rule_file) == []
        assert loaded_check.unreadable_files(stack.alertmanager_url,
                                             stack.data_dir / "config" / "alertmanager.yml") == []


def test_the_checks_see_what_a_relative_path_breaks(tmp_path):
    """Real Prometheus and Alertmanager given relative paths (as the stack once wrote them):
    the rule groups are reported missing and the credential file unreadable."""
    prometheus_bin = shutil.which("prometheus")
    alertmanager_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    config_dir = tmp_path / ".stack" / "config"
    rules = deploy_configs.write_native_rules(config_dir / "rules", "demo", "http://127.0.0.1:1")
    deploy_configs.write_webhook_token(config_dir / "secrets", "token")
    relative = Path(".stack/config")
    prom_port, am_port = free_port(), free_port()
    (config_dir / "prometheus.yml").write_text(yaml.safe_dump(
        {"global": {"evaluation_interval": "2s"}, "rule_files": [str(relative / "rules" / "demo.yml")]}))
    (config_dir / "alertmanager.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "server"},
        "receivers": [{"name": "server", "webhook_configs": [{
            "url": "http://127.0.0.1:1/api/alerts/webhook",
            "http_config": {"authorization": {"credentials_file": str(relative / "secrets" / "webhook-token")}}}]}]}))
    processes = [
        spawn("prometheus", [prometheus_bin, f"--config.file={config_dir / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"], tmp_path / "p.log", cwd=tmp_path),
        spawn("alertmanager", [alertmanager_bin, f"--config.file={config_dir / 'alertmanager.yml'}",
                               f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
                               "--cluster.listen-address="], tmp_path / "a.log", cwd=tmp_path)]
    try:
        wait_http(f"http://127.0.0.1:{prom_port}/-/ready", proc=processes[0].proc)
        wait_http(f"http://127.0.0.1:{am_port}/-/ready", proc=processes[1].proc)
        groups = [g["name"] for g in yaml.safe_load(rules.read_text())["groups"]]
        assert loaded_check.missing_rule_groups(f"http://127.0.0.1:{prom_port}", rules) == groups
        [problem] = loaded_check.unreadable_files(f"http://127.0.0.1:{am_port}",
                                                  config_dir / "alertmanager.yml")
        assert "secrets/webhook-token" in problem and "cannot be read" in problem
    finally:
        for process in processes:
            process.stop()
