"""Writing the rendered configs, the native rule file and the secrets they point at into folders."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from license_demo.deploy_configs.addresses import COMPOSE, RULES_DIR, Addresses
from license_demo.deploy_configs.alertmanager import render_alertmanager, secret
from license_demo.deploy_configs.prometheus import native_links, render_prometheus
from license_demo.deploy_configs.timings import PROFILES


def write_secrets(secrets_dir: Path, env: dict) -> list[Path]:
    """Write the supplied Slack URL and SMTP password into `secrets_dir`, owner-only (0600)."""
    written = []
    for name, filename in (("SMTP_PASSWORD", "smtp-password"),
                           ("SLACK_WEBHOOK_URL", "slack-webhook-url")):
        value = secret(env, name)
        if value is None:
            continue
        secrets_dir.mkdir(parents=True, exist_ok=True)
        path = secrets_dir / filename
        path.write_text(value + ("\n" if name == "SLACK_WEBHOOK_URL" else ""))
        path.chmod(0o600)
        written.append(path)
    return written


def write_native_rules(out_dir: Path, profile: str, server_url: str) -> Path:
    """Write the profile's rule file with links to the server's pages; return its path."""
    rules = yaml.safe_load((RULES_DIR / PROFILES[profile]["rules"]).read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PROFILES[profile]["rules"]
    path.write_text(yaml.safe_dump(native_links(rules, server_url), sort_keys=False, width=1000))
    return path


def write_secret(path: Path, value: str) -> Path:
    """Write `value` to `path`, readable by the owner only (the mode is set before the value)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(value)
    return path


def write_webhook_token(secrets_dir: Path, token: str) -> Path:
    """Write the webhook token Alertmanager sends to the server, readable by the owner only."""
    return write_secret(secrets_dir / "webhook-token", token)


def write_configs(out_dir: Path, addresses: Addresses, profile: str = "demo",
                  env: dict | None = None) -> tuple[Path, Path, list[str]]:
    """Write prometheus.yml and alertmanager.yml into `out_dir`; return their paths and notes.

    The secrets go to the native secrets folder, or for compose to `out_dir/secrets`, which
    docker-compose.yml mounts at /etc/alertmanager/secrets.
    """
    env = dict(os.environ if env is None else env)
    out_dir.mkdir(parents=True, exist_ok=True)
    prometheus_path = out_dir / "prometheus.yml"
    alertmanager_path = out_dir / "alertmanager.yml"
    prometheus_path.write_text(yaml.safe_dump(render_prometheus(addresses, profile),
                                              sort_keys=False))
    alertmanager, notes = render_alertmanager(addresses, profile, env)
    alertmanager_path.write_text(yaml.safe_dump(alertmanager, sort_keys=False, width=1000))
    if addresses == COMPOSE:
        write_secrets(out_dir / "secrets", env)
    else:
        # A native SLACK_WEBHOOK_URL_FILE is read in place; only a given value is copied.
        write_secrets(Path(addresses.secrets_dir),
                      {k: v for k, v in env.items() if k != "SLACK_WEBHOOK_URL_FILE"})
    return prometheus_path, alertmanager_path, notes
