"""After start: did Prometheus load every rule group, and can Alertmanager read its files?

Both resolve a relative path in their configuration against the configuration file's own
folder, so a path that looks right from the working directory can name nothing. A stack
whose rules did not load never fires an alert, one whose webhook credential cannot be read
delivers nothing: both are checked against what the running processes report.
"""
from __future__ import annotations

from pathlib import Path

import requests
import yaml

from license_demo.clients import DemoError, PrometheusClient

# Keys of an Alertmanager configuration that name a file it reads at notification time.
FILE_KEYS = ("credentials_file", "password_file", "api_url_file", "smtp_auth_password_file",
             "bearer_token_file", "ca_file", "cert_file", "key_file")


def missing_rule_groups(prometheus_url: str, rule_file: Path) -> list[str]:
    """Names of the groups in `rule_file` that the Prometheus at `prometheus_url` has not loaded."""
    wanted = [group["name"] for group in yaml.safe_load(rule_file.read_text())["groups"]]
    loaded = {group["name"] for group in PrometheusClient(prometheus_url).rule_groups()}
    return [name for name in wanted if name not in loaded]


def file_paths(config: object) -> list[str]:
    """Every file path named under one of FILE_KEYS anywhere in an Alertmanager configuration."""
    if isinstance(config, dict):
        return [path for key, value in config.items()
                for path in ([value] if key in FILE_KEYS and isinstance(value, str)
                             else file_paths(value))]
    if isinstance(config, list):
        return [path for item in config for path in file_paths(item)]
    return []


def unreadable_files(alertmanager_url: str, config_file: Path) -> list[str]:
    """Files the running Alertmanager's configuration names but cannot read, as it resolves them."""
    try:
        answer = requests.get(f"{alertmanager_url}/api/v2/status", timeout=5)
        answer.raise_for_status()
        loaded = yaml.safe_load(answer.json()["config"]["original"])
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise DemoError(f"cannot read Alertmanager's configuration from "
                        f"{alertmanager_url}/api/v2/status ({exc})") from exc
    problems = []
    for name in file_paths(loaded):
        path = config_file.parent / name  # an absolute `name` stays itself
        try:
            if not path.read_text().strip():
                problems.append(f"{name} is empty")
        except OSError:
            problems.append(f"{name} (read as {path}) cannot be read")
    return problems
