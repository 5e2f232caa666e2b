"""Render the Prometheus and Alertmanager configurations for a stack from the committed sources.

prometheus/prometheus.yml and alertmanager/alertmanager.yml are written for the compose
stack (service names, demo profile). Every other copy (the native stack's loopback ports,
the production profile, email and Slack switched on from the environment) is rendered from
them here, so the variants cannot drift apart.

    python -m license_demo.stack.detection_config --target compose --out build/detection
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from rule_source.durations import duration_seconds

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_SOURCE = REPO / "prometheus" / "prometheus.yml"
ALERTMANAGER_SOURCE = REPO / "alertmanager" / "alertmanager.yml"
CHANNELS_SOURCE = REPO / "alertmanager" / "channels.yml"
RULES_DIR = REPO / "prometheus" / "rules"
TEMPLATES_DIR = REPO / "alertmanager" / "templates"

# Timings per profile; the demo values are the ones the committed compose files carry.
PROFILES = {
    "demo": {"scrape_interval": "2s", "evaluation_interval": "2s", "rules": "demo.yml",
             "group_wait": "2s", "group_interval": "10s", "repeat_interval": "1h"},
    "production": {"scrape_interval": "15s", "evaluation_interval": "15s",
                   "rules": "production.yml", "group_wait": "30s", "group_interval": "5m",
                   "repeat_interval": "4h"},
}


# The story's promise for the demo profile: the first overage borrow reaches the webhook as
# HighOverageRate within this many seconds (the median of bench/bench_detection.py).
DETECTION_BUDGET_SECONDS = 15.0


@dataclass(frozen=True)
class Addresses:
    """Where the three services listen (host:port) and where the configs find their files."""

    license_server: str
    prometheus: str
    alertmanager: str
    rules_dir: str
    templates_dir: str
    secrets_dir: str


COMPOSE = Addresses(license_server="license-server:8000", prometheus="localhost:9090",
                    alertmanager="alertmanager:9093", rules_dir="rules",
                    templates_dir="/etc/alertmanager/templates",
                    secrets_dir="/etc/alertmanager/secrets")


def native_addresses(server_port: int, prometheus_port: int, alertmanager_port: int,
                     secrets_dir: Path, host: str = "127.0.0.1") -> Addresses:
    """Addresses of a native stack on loopback ports, reading rules and templates from the repo."""
    return Addresses(license_server=f"{host}:{server_port}",
                     prometheus=f"{host}:{prometheus_port}",
                     alertmanager=f"{host}:{alertmanager_port}",
                     rules_dir=str(RULES_DIR), templates_dir=str(TEMPLATES_DIR),
                     secrets_dir=str(secrets_dir))


def _swap(text: str, addresses: Addresses) -> str:
    """Replace the compose service addresses in `text` by those of `addresses`."""
    for name in ("license_server", "prometheus", "alertmanager"):
        text = text.replace(getattr(COMPOSE, name), getattr(addresses, name))
    return text


def render_prometheus(addresses: Addresses, profile: str = "demo") -> dict:
    """Return prometheus.yml for `addresses` and `profile`."""
    timings = PROFILES[profile]
    config = yaml.safe_load(PROMETHEUS_SOURCE.read_text())
    config["global"]["scrape_interval"] = timings["scrape_interval"]
    config["global"]["evaluation_interval"] = timings["evaluation_interval"]
    config["rule_files"] = [f"{addresses.rules_dir}/{timings['rules']}"]
    for manager in config["alerting"]["alertmanagers"]:
        for static in manager["static_configs"]:
            static["targets"] = [_swap(t, addresses) for t in static["targets"]]
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [_swap(t, addresses) for t in static["targets"]]
    return config


def _email_settings(env: dict) -> dict | None:
    """Global SMTP settings from SMTP_* variables, or None unless SMTP_SMARTHOST and SMTP_TO are set."""
    if not env.get("SMTP_SMARTHOST") or not env.get("SMTP_TO"):
        return None
    settings = {"smtp_smarthost": env["SMTP_SMARTHOST"],
                "smtp_from": env.get("SMTP_FROM", "license-alerts@localhost"),
                "smtp_require_tls": env.get("SMTP_REQUIRE_TLS", "true").lower() != "false"}
    if env.get("SMTP_USERNAME"):
        settings["smtp_auth_username"] = env["SMTP_USERNAME"]
    return settings


def _secret(env: dict, name: str) -> str | None:
    """The value of secret `name` from the variable NAME or the file named by NAME_FILE."""
    if env.get(name):
        return env[name].strip()
    if env.get(f"{name}_FILE"):
        path = Path(env[f"{name}_FILE"]).expanduser()
        if not path.is_file():
            raise SystemExit(f"{name}_FILE={path} does not exist: point it at a file holding "
                             f"the value, or set {name} itself")
        return path.read_text().strip()
    return None


def _channel_config(entry: dict, secrets_dir: str) -> dict:
    """A Slack or email config of channels.yml with the secrets folder filled in."""
    text = yaml.safe_dump(entry["config"], sort_keys=False, width=1000)
    return yaml.safe_load(text.replace("@secrets@", secrets_dir))


def render_alertmanager(addresses: Addresses, profile: str = "demo",
                        env: dict | None = None) -> tuple[dict, list[str]]:
    """Return alertmanager.yml for `addresses` and `profile`, and notes on the channels in use.

    The license-server webhook is always on. Slack and email (alertmanager/channels.yml) are
    added only when configured: Slack with SLACK_WEBHOOK_URL or SLACK_WEBHOOK_URL_FILE (read
    from `<secrets_dir>/slack-webhook-url`; natively from SLACK_WEBHOOK_URL_FILE itself),
    email with SMTP_SMARTHOST and SMTP_TO (SMTP_FROM, SMTP_USERNAME, SMTP_REQUIRE_TLS; the
    password from `<secrets_dir>/smtp-password`). write_configs writes the secret files.
    Every license-server webhook sends the bearer token held in
    `<secrets_dir>/webhook-token` (the server's ALERT_WEBHOOK_TOKEN).
    """
    env = dict(os.environ if env is None else env)
    timings = PROFILES[profile]
    config = yaml.safe_load(ALERTMANAGER_SOURCE.read_text())
    channels = yaml.safe_load(CHANNELS_SOURCE.read_text())
    notes = [f"webhook: http://{addresses.license_server}/api/alerts/webhook"]
    route = config["route"]
    for key in ("group_wait", "group_interval", "repeat_interval"):
        route[key] = timings[key]
    config["templates"] = [f"{addresses.templates_dir}/*.tmpl"]
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = _swap(hook["url"], addresses)
            if hook["url"].endswith("/api/alerts/webhook"):
                # The server's ALERT_WEBHOOK_TOKEN, from the file the stack writes or mounts.
                hook["http_config"] = {"authorization": {
                    "type": "Bearer", "credentials_file": f"{addresses.secrets_dir}/webhook-token"}}

    email = _email_settings(env)
    if email:
        config["global"].update(email)
        if email.get("smtp_auth_username"):
            config["global"]["smtp_auth_password_file"] = f"{addresses.secrets_dir}/smtp-password"
        mail = _channel_config(channels["email"], addresses.secrets_dir)
        mail["to"] = env["SMTP_TO"]
        for name in channels["email"]["receivers"]:
            receivers[name]["email_configs"] = [dict(mail)]
        notes.append(f"email: via {email['smtp_smarthost']} to {env['SMTP_TO']}")
    else:
        notes.append("email: off (set SMTP_SMARTHOST and SMTP_TO, with SMTP_USERNAME and "
                     "SMTP_PASSWORD if the server wants a login)")

    if env.get("SLACK_WEBHOOK_URL") or env.get("SLACK_WEBHOOK_URL_FILE"):
        slack = _channel_config(channels["slack"], addresses.secrets_dir)
        # Natively a given file is read where it is; compose reads the copy in its secrets.
        if env.get("SLACK_WEBHOOK_URL_FILE") and not env.get("SLACK_WEBHOOK_URL") \
                and addresses != COMPOSE:
            slack["api_url_file"] = str(Path(env["SLACK_WEBHOOK_URL_FILE"]).expanduser())
        for name in channels["slack"]["receivers"]:
            receivers[name]["slack_configs"] = [dict(slack)]
        notes.append(f"slack: on ({slack['channel']})")
    else:
        notes.append("slack: off (set SLACK_WEBHOOK_URL, or SLACK_WEBHOOK_URL_FILE to a file "
                     "holding the webhook URL)")
    return config, notes


def render_cloud_alertmanager(server_url: str, profile: str = "production",
                              env: dict | None = None) -> tuple[dict, list[str]]:
    """alertmanager.yml for a hosted Alertmanager (Grafana Cloud), which reads no local files.

    The webhook points at `server_url` (the Fly app); Slack's URL and the SMTP password are
    written into the config itself, so the result is a secret: upload it, do not commit it.
    """
    env = dict(os.environ if env is None else env)
    config, notes = render_alertmanager(COMPOSE, profile, env)
    # A hosted Alertmanager takes templates by file name, uploaded with the config
    # (`mimirtool alertmanager load alertmanager.yml alertmanager/templates/license.tmpl`).
    config["templates"] = ["license.tmpl"]
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = hook["url"].replace(f"http://{COMPOSE.license_server}",
                                              server_url.rstrip("/"))
            if "http_config" in hook:
                # No local files there either: the server's ALERT_WEBHOOK_TOKEN goes inline.
                hook["http_config"]["authorization"] = {
                    "type": "Bearer", "credentials": _secret(env, "ALERT_WEBHOOK_TOKEN") or ""}
        for slack in receiver.get("slack_configs", []):
            slack["api_url"] = _secret(env, "SLACK_WEBHOOK_URL")
            del slack["api_url_file"]
    if config["global"].pop("smtp_auth_password_file", None):
        config["global"]["smtp_auth_password"] = _secret(env, "SMTP_PASSWORD") or ""
    notes[0] = f"webhook: {server_url.rstrip('/')}/api/alerts/webhook"
    return config, notes


def write_secrets(secrets_dir: Path, env: dict) -> list[Path]:
    """Write the supplied Slack URL and SMTP password into `secrets_dir`, owner-only (0600)."""
    written = []
    for name, filename in (("SMTP_PASSWORD", "smtp-password"),
                           ("SLACK_WEBHOOK_URL", "slack-webhook-url")):
        value = _secret(env, name)
        if value is None:
            continue
        secrets_dir.mkdir(parents=True, exist_ok=True)
        path = secrets_dir / filename
        path.write_text(value + ("\n" if name == "SLACK_WEBHOOK_URL" else ""))
        path.chmod(0o600)
        written.append(path)
    return written


def native_links(rules: dict, server_url: str) -> dict:
    """Point the alerts' dashboard and logs links at the license server's own pages.

    The native stack runs no Grafana or Loki: the dashboard link opens the server's
    /dashboard, the logs link the server's record of the seats concerned (active borrows of
    the alert's tool or user). runbook_url stays a path in the repository.
    """
    for group in rules["groups"]:
        for rule in group["rules"]:
            annotations = rule.get("annotations")
            if not annotations or "alert" not in rule:
                continue
            logs = annotations.get("logs", "")
            query = ("?tool={{ $labels.tool | urlquery }}" if "$labels.tool" in logs else
                     "?user={{ $labels.user | urlquery }}" if "$labels.user" in logs else "")
            annotations["dashboard"] = f"{server_url}/dashboard"
            annotations["logs"] = f"{server_url}/api/borrows{query}"
    return rules


def write_native_rules(out_dir: Path, profile: str, server_url: str) -> Path:
    """Write the profile's rule file with links to the server's pages; return its path."""
    rules = yaml.safe_load((RULES_DIR / PROFILES[profile]["rules"]).read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PROFILES[profile]["rules"]
    path.write_text(yaml.safe_dump(native_links(rules, server_url), sort_keys=False, width=1000))
    return path


def write_smtp_password(secrets_dir: Path, env: dict) -> None:
    """Write SMTP_PASSWORD (if given) to the secrets folder, readable by the owner only."""
    write_secrets(secrets_dir, {k: v for k, v in env.items() if k.startswith("SMTP_PASSWORD")})


def write_webhook_token(secrets_dir: Path, token: str) -> Path:
    """Write the webhook token Alertmanager sends to the server, readable by the owner only."""
    secrets_dir.mkdir(parents=True, exist_ok=True)
    path = secrets_dir / "webhook-token"
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(token)
    return path


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


def detection_floor(profile: str = "demo", alert: str = "HighOverageRate",
                    rules_dir: Path = RULES_DIR) -> dict[str, float]:
    """The timing parts between a change on the server and `alert` at the webhook, in seconds.

    Read from what a stack really runs: the rendered prometheus.yml (scrape and evaluation
    interval), the rendered rule file (`for:`) and the rendered alertmanager.yml (group_wait).
    Their sum is the delay when every part waits its longest.
    """
    addresses = native_addresses(8000, 9090, 9093, Path("secrets"))
    addresses = Addresses(**{**addresses.__dict__, "rules_dir": str(rules_dir)})
    prometheus = render_prometheus(addresses, profile)
    alertmanager, _ = render_alertmanager(addresses, profile, env={})
    rules = yaml.safe_load(Path(prometheus["rule_files"][0]).read_text())
    hold = next(rule.get("for", "0s") for group in rules["groups"] for rule in group["rules"]
                if rule.get("alert") == alert)
    return {"scrape": duration_seconds(prometheus["global"]["scrape_interval"]),
            "evaluation": duration_seconds(prometheus["global"]["evaluation_interval"]),
            "for": duration_seconds(hold),
            "group_wait": duration_seconds(alertmanager["route"]["group_wait"])}


def main(argv: list[str] | None = None) -> int:
    """Render the compose (or a native) configuration into a folder."""
    parser = argparse.ArgumentParser(
        description="Render prometheus.yml and alertmanager.yml from the committed sources.")
    parser.add_argument("--target", choices=["compose", "native", "cloud"], default="compose",
                        help="compose: service names; native: loopback ports; cloud: a hosted "
                             "Alertmanager (Grafana Cloud) notifying --server-url, secrets "
                             "inline (default compose)")
    parser.add_argument("--server-url", default="",
                        help="cloud: the license server's public URL, e.g. https://APP.fly.dev")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="demo",
                        help="rule and notification timings (default demo)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the files to")
    parser.add_argument("--server-port", type=int, default=8000)
    parser.add_argument("--prometheus-port", type=int, default=9090)
    parser.add_argument("--alertmanager-port", type=int, default=9093)
    args = parser.parse_args(argv)
    if args.target == "cloud":
        if not args.server_url:
            parser.error("--target cloud needs --server-url https://<app>.fly.dev")
        config, notes = render_cloud_alertmanager(args.server_url, args.profile)
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
        path.chmod(0o600)
        print(f"wrote {path} (holds the Slack URL and SMTP password: upload it, never commit it)")
        for note in notes:
            print(f"  {note}")
        return 0
    if args.target == "compose":
        addresses = COMPOSE
    else:
        addresses = native_addresses(args.server_port, args.prometheus_port,
                                     args.alertmanager_port, args.out / "secrets")
    prometheus_path, alertmanager_path, notes = write_configs(args.out, addresses, args.profile)
    print(f"wrote {prometheus_path} and {alertmanager_path}")
    for note in notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
