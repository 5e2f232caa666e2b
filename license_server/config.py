"""Settings: defaults, then the environment; create_app applies test overrides last."""
from __future__ import annotations

import os
from importlib import metadata, resources
from pathlib import Path

import yaml

import rule_source

DEFAULTS = {
    "DATABASE_URL": "sqlite:///data/license.db",
    "ADMIN_TOKEN": None,
    # A file holding the admin token (a container secret); ADMIN_TOKEN wins when both are set.
    "ADMIN_TOKEN_FILE": None,
    # Package data, so an installed package finds it outside a checkout.
    "TOOLS_FILE": str(resources.files("license_server").joinpath("tools.yaml")),
    "LOKI_URL": None,
    "LOKI_USER": None,
    "LOKI_PASSWORD": None,
    "GIT_COMMIT": "unknown",
    "LOG_LEVEL": "INFO",
    # Session signing key; generated once and kept in the database when not given.
    "SECRET_KEY": None,
    # A /config login lasts this long (seconds) unless logged out or the token changes.
    "ADMIN_SESSION_SECONDS": 12 * 3600,
    # Wrong admin tokens allowed per client and window (seconds) before 429.
    "TOKEN_ATTEMPTS": 10,
    "TOKEN_ATTEMPT_WINDOW": 60,
    # Send the session cookie over HTTPS only (set true behind TLS, e.g. on Fly.io).
    "SESSION_COOKIE_SECURE": False,
    # Header holding the client address behind a proxy (Fly.io: Fly-Client-IP); unset: the peer.
    "CLIENT_IP_HEADER": None,
    # Bearer token Alertmanager sends to POST /api/alerts/webhook (or a file holding it).
    "ALERT_WEBHOOK_TOKEN": None,
    "ALERT_WEBHOOK_TOKEN_FILE": None,
    # The rule source: its alert names become `alertname` label values (others: "other") and
    # its thresholds judge fixes. Default: $RULES_SOURCE_FILE (the image sets it), else the
    # checkout's prometheus/rules.src.yml (read from the environment in from_environment, not
    # at import); without it the server refuses to start.
    "ALERT_RULES_FILE": None,
    # Seconds between lease-expiry sweeps in each worker.
    "LEASE_REAP_INTERVAL": 2.0,
    "DASHBOARD_REFRESH_MS": 3000,
    # Seconds between checks whether an open incident's fix is verified (0: never).
    "INCIDENT_CHECK_INTERVAL": 5.0,
    # A fix of an overage, exhaustion or failure incident is verified by the tool's borrows after
    # it: spanning at least this many seconds, and at least this many borrows.
    "INCIDENT_VERIFY_SECONDS": 60.0,
    "INCIDENT_MIN_BORROWS": 20,
    # Upper bound of an accepted lease: a week.
    "MAX_LEASE_SECONDS": 7 * 24 * 3600,
    # How long an Idempotency-Key of POST /api/borrow answers with its first borrow (seconds).
    "IDEMPOTENCY_SECONDS": 24 * 3600,
    # Request limits (license_server/request_limits.py): bytes of a body, of a webhook body,
    # nesting levels of a JSON body, digits of a JSON integer.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "WEBHOOK_MAX_CONTENT_LENGTH": 512 * 1024,
    "MAX_JSON_DEPTH": 32,
    "MAX_INTEGER_DIGITS": 30,
    # prometheus_client's multiprocess folder, set under gunicorn (see __main__.py); unset: one process.
    "PROMETHEUS_MULTIPROC_DIR": None,
    # Traces (license_server/tracing.py): the standard OpenTelemetry variables; no endpoint, no traces.
    "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": None,
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": None,
    "OTEL_SERVICE_NAME": "license-server",
    "OTEL_SDK_DISABLED": None,
    "OTEL_TRACES_SAMPLER": None,
    "OTEL_TRACES_SAMPLER_ARG": None,
    "OTEL_PYTHON_FLASK_EXCLUDED_URLS": None,
}


def package_version() -> str:
    """The installed project version, or 'dev' when run from a bare checkout."""
    try:
        return metadata.version("license-demo")
    except metadata.PackageNotFoundError:
        return "dev"


def from_environment(environ=os.environ) -> dict:
    """Settings from the defaults overridden by same-named environment variables."""
    settings = dict(DEFAULTS, APP_VERSION=package_version())
    for key in list(settings):
        if environ.get(key):
            settings[key] = environ[key]
    # prometheus_client also honours the older lower-case name.
    settings["PROMETHEUS_MULTIPROC_DIR"] = (settings["PROMETHEUS_MULTIPROC_DIR"]
                                            or environ.get("prometheus_multiproc_dir") or None)
    if settings["ADMIN_TOKEN_FILE"] and not settings["ADMIN_TOKEN"]:
        settings["ADMIN_TOKEN"] = read_secret(settings["ADMIN_TOKEN_FILE"], "ADMIN_TOKEN_FILE")
    if settings["ALERT_WEBHOOK_TOKEN_FILE"] and not settings["ALERT_WEBHOOK_TOKEN"]:
        settings["ALERT_WEBHOOK_TOKEN"] = read_secret(settings["ALERT_WEBHOOK_TOKEN_FILE"],
                                                      "ALERT_WEBHOOK_TOKEN_FILE")
    settings["ALERT_RULES_FILE"] = (settings["ALERT_RULES_FILE"] or environ.get(rule_source.PATH_VARIABLE)
                                    or str(rule_source.DEFAULT_PATH))
    settings["SESSION_COOKIE_SECURE"] = str(settings["SESSION_COOKIE_SECURE"]).lower() in ("1", "true", "yes")
    for key in ("LEASE_REAP_INTERVAL", "INCIDENT_CHECK_INTERVAL", "INCIDENT_VERIFY_SECONDS"):
        settings[key] = float(settings[key])
    for key in ("DASHBOARD_REFRESH_MS", "MAX_LEASE_SECONDS", "MAX_CONTENT_LENGTH",
                "ADMIN_SESSION_SECONDS", "TOKEN_ATTEMPTS", "TOKEN_ATTEMPT_WINDOW", "IDEMPOTENCY_SECONDS",
                "WEBHOOK_MAX_CONTENT_LENGTH", "MAX_JSON_DEPTH", "MAX_INTEGER_DIGITS", "INCIDENT_MIN_BORROWS"):
        settings[key] = int(settings[key])
    return settings


def read_secret(path: str, setting: str) -> str:
    """The secret held in the file `path` (surrounding whitespace dropped); ValueError saying what to fix."""
    try:
        secret = Path(path).read_text().strip()
    except OSError as exc:
        raise ValueError(f"{setting}={path} cannot be read ({exc.strerror}): point it at a "
                         "readable file holding the token") from exc
    if not secret:
        raise ValueError(f"{setting}={path} is empty: write the token into it")
    return secret


def load_tools(path: str) -> list[dict]:
    """Read and check the tool catalog YAML; raise ValueError with what to fix."""
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"Cannot read the tool catalog {path}: {exc}") from exc
    tools = (document or {}).get("tools")
    if not isinstance(tools, list) or not tools:
        raise ValueError(f"{path} must contain a non-empty 'tools:' list")
    required = ("name", "commit", "max_overage", "overage_cost", "commit_cost_monthly")
    for index, tool in enumerate(tools):
        missing = [key for key in required if key not in (tool or {})]
        if missing:
            raise ValueError(f"{path}: tool #{index + 1} lacks {', '.join(missing)}")
        if int(tool["commit"]) < 0 or int(tool["max_overage"]) < 0:
            raise ValueError(f"{path}: {tool['name']} has negative seats")
    return tools
