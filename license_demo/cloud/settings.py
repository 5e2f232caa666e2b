"""The Fly app's URL and the Grafana Cloud stack's endpoints and tokens, from the environment or a file.

The names are the ones the other commands already read (FLY_APP_URL, ADMIN_TOKEN, GRAFANA_URL,
LOKI_URL, ...), so one file serves `license-demo cloud`, `preflight --cloud` and, loaded into
the shell (`set -a; . FILE; set +a`), the journeys and the stress test. Tokens are kept out of
every printed line and of `repr`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from dotenv import dotenv_values

# Variable → what it is, for the error that names a missing one.
REQUIRED = {
    "FLY_APP_URL": "the license server on Fly.io, e.g. https://license-server-demo.fly.dev",
    "ALERT_WEBHOOK_TOKEN": "the app's webhook token (the value given to `fly secrets set ALERT_WEBHOOK_TOKEN=...`)",
    "PROMETHEUS_URL": "the stack's Prometheus query endpoint, https://prometheus-prod-NN-REGION.grafana.net/api/prom",
    "PROMETHEUS_USER": "the stack's Prometheus instance id (a number)",
    "PROMETHEUS_PASSWORD": "a Grafana Cloud access policy token (metrics:read, rules:read, rules:write, "
                           "alerts:read, alerts:write, logs:read)",
    "ALERTMANAGER_URL": "the stack's Alertmanager, https://alertmanager-prod-NN-REGION.grafana.net/alertmanager",
    "GRAFANA_URL": "the stack's Grafana, https://STACK.grafana.net",
    "GRAFANA_TOKEN": "a Grafana service account token with the Admin role (listing datasources needs it)",
}
# Read when set: the app's admin token, separate Alertmanager credentials, Loki, and the Slack and
# email settings the Alertmanager configuration takes (as everywhere else).
OPTIONAL = ("ADMIN_TOKEN", "ALERTMANAGER_USER", "ALERTMANAGER_PASSWORD", "LOKI_URL", "LOKI_USER",
            "LOKI_PASSWORD", "SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL_FILE", "SMTP_SMARTHOST", "SMTP_TO",
            "SMTP_FROM", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_PASSWORD_FILE", "SMTP_REQUIRE_TLS")
# Mimir serves the Alertmanager API under this prefix and its configuration API at the root.
ALERTMANAGER_PREFIX = "/alertmanager"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and where to find it."""


def _secret(default=None):
    """A field kept out of repr, so a token never reaches a log or a traceback."""
    return field(default=default, repr=False)


@dataclass
class CloudSettings:
    """Everything the cloud commands talk to."""

    server_url: str
    prometheus_url: str
    prometheus_user: str
    alertmanager_url: str
    alertmanager_user: str
    grafana_url: str
    loki_url: str = ""
    loki_user: str = ""
    admin_token: str = _secret("")
    webhook_token: str = _secret("")
    prometheus_password: str = _secret("")
    alertmanager_password: str = _secret("")
    grafana_token: str = _secret("")
    loki_password: str = _secret("")

    @property
    def prometheus_auth(self) -> tuple[str, str]:
        """Basic auth for the Prometheus-compatible APIs (query, rules, ruler configuration)."""
        return (self.prometheus_user, self.prometheus_password)

    @property
    def alertmanager_auth(self) -> tuple[str, str]:
        """Basic auth for the Alertmanager and its configuration API."""
        return (self.alertmanager_user, self.alertmanager_password)

    @property
    def loki_auth(self) -> tuple[str, str] | None:
        """Basic auth for Loki, when a user is given."""
        return (self.loki_user, self.loki_password) if self.loki_user else None

    @property
    def alertmanager_api(self) -> str:
        """Where the Alertmanager's own API answers (…/alertmanager/api/v2/...)."""
        return self.alertmanager_url

    @property
    def alertmanager_config_api(self) -> str:
        """Mimir's configuration API: POST/GET /api/v1/alerts at the Alertmanager's root."""
        return self.alertmanager_url.removesuffix(ALERTMANAGER_PREFIX) + "/api/v1/alerts"


def read_values(env_file: str | Path | None, environ: dict | None = None) -> dict[str, str]:
    """The settings as variables: the file's, then the environment's (the environment wins)."""
    values: dict[str, str] = {}
    if env_file:
        path = Path(env_file).expanduser()
        if not path.is_file():
            raise SettingsError(f"--env-file {path} does not exist: create it (KEY=value lines, see "
                                "docs/dashboards-and-deployment.md) outside the repository")
        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    env = os.environ if environ is None else environ
    values.update({k: env[k] for k in env if k in REQUIRED or k in OPTIONAL})
    return {k: v.strip() for k, v in values.items()}


def _url(values: dict, name: str) -> str:
    """An http(s) URL setting without its trailing slash."""
    url = values.get(name, "").rstrip("/")
    if url and not url.startswith(("http://", "https://")):
        raise SettingsError(f"{name}={url!r} is not an http(s) URL: give {REQUIRED.get(name, 'a URL')}")
    return url


def load(env_file: str | Path | None = None, environ: dict | None = None) -> tuple[CloudSettings, dict]:
    """The settings, and all variables read (the Alertmanager rendering takes Slack and SMTP from them).

    Raises SettingsError naming every missing variable.
    """
    values = read_values(env_file, environ)
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        where = f" (in {env_file} or the environment)" if env_file else " (or give --env-file FILE)"
        raise SettingsError("missing settings" + where + ":\n" +
                            "\n".join(f"  {name}: {REQUIRED[name]}" for name in missing))
    alertmanager = _url(values, "ALERTMANAGER_URL")
    if not alertmanager.endswith(ALERTMANAGER_PREFIX):
        alertmanager += ALERTMANAGER_PREFIX
    settings = CloudSettings(
        server_url=_url(values, "FLY_APP_URL"), prometheus_url=_url(values, "PROMETHEUS_URL"),
        prometheus_user=values["PROMETHEUS_USER"], alertmanager_url=alertmanager,
        alertmanager_user=values.get("ALERTMANAGER_USER") or values["PROMETHEUS_USER"],
        grafana_url=_url(values, "GRAFANA_URL"), loki_url=_url(values, "LOKI_URL"),
        loki_user=values.get("LOKI_USER", ""), admin_token=values.get("ADMIN_TOKEN", ""),
        webhook_token=values["ALERT_WEBHOOK_TOKEN"], prometheus_password=values["PROMETHEUS_PASSWORD"],
        alertmanager_password=values.get("ALERTMANAGER_PASSWORD") or values["PROMETHEUS_PASSWORD"],
        grafana_token=values["GRAFANA_TOKEN"], loki_password=values.get("LOKI_PASSWORD", ""))
    return settings, values


def with_settings(command: Callable) -> Callable:
    """A subcommand `command(args, settings, values, out)` run with the settings of `args.env_file`;
    without them it prints what is missing and exits 2."""
    def run(args, out=print) -> int:
        try:
            settings, values = load(args.env_file)
        except SettingsError as exc:
            out(f"error: {exc}")
            return 2
        return command(args, settings, values, out)
    return run
