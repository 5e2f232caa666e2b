"""alertmanager.yml for a deployment and profile: compose and native (files beside it), cloud (inline secrets)."""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from license_demo.deploy_configs.addresses import ALERTMANAGER_SOURCE, CHANNELS_SOURCE, COMPOSE, Addresses, swap
from license_demo.deploy_configs.timings import PROFILES


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


def secret(env: dict, name: str) -> str | None:
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


def _add_to_receivers(receivers: dict, channel: dict, key: str, config: dict) -> None:
    """Give each receiver the channel (channels.yml) lists its config under `key`."""
    for name in channel["receivers"]:
        receivers[name][key] = [dict(config)]


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
            hook["url"] = swap(hook["url"], addresses)
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
        _add_to_receivers(receivers, channels["email"], "email_configs", mail)
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
        _add_to_receivers(receivers, channels["slack"], "slack_configs", slack)
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
                    "type": "Bearer", "credentials": secret(env, "ALERT_WEBHOOK_TOKEN") or ""}
        for slack in receiver.get("slack_configs", []):
            slack["api_url"] = secret(env, "SLACK_WEBHOOK_URL")
            del slack["api_url_file"]
    if config["global"].pop("smtp_auth_password_file", None):
        config["global"]["smtp_auth_password"] = secret(env, "SMTP_PASSWORD") or ""
    notes[0] = f"webhook: {server_url.rstrip('/')}/api/alerts/webhook"
    return config, notes
