"""`python -m license_server`: serve the app with gunicorn (the production server)."""
from __future__ import annotations

import argparse
import ipaddress
import os
import runpy
import tempfile
from pathlib import Path

from gunicorn.app.base import BaseApplication

CONF = Path(__file__).with_name("gunicorn_conf.py")


class Server(BaseApplication):
    """gunicorn running create_app() in each worker with gunicorn_conf.py's settings."""

    def __init__(self, overrides: dict):
        self.overrides = overrides
        super().__init__()

    def load_config(self):
        """Read gunicorn_conf.py, then apply the command-line overrides."""
        settings = {**runpy.run_path(str(CONF)), **self.overrides}
        for key, value in settings.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key.lower(), value)

    def load(self):
        """Build the app inside the worker (after the metrics folder is set)."""
        from license_server import create_app
        return create_app()


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options; each falls back to its environment variable."""
    parser = argparse.ArgumentParser(
        prog="python -m license_server",
        description="Serve the license server with gunicorn. Settings not given here come from "
                    "the environment: DATABASE_URL (default sqlite:///data/license.db), "
                    "ADMIN_TOKEN or ADMIN_TOKEN_FILE (enables /config and the admin API), "
                    "ALERT_WEBHOOK_TOKEN or ALERT_WEBHOOK_TOKEN_FILE (enables Alertmanager's "
                    "webhook), SECRET_KEY, TOOLS_FILE, LOKI_URL. The README's Security section "
                    "says how to set each.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"),
                        help="address to listen on (default: $HOST or 127.0.0.1, this machine "
                             "only; 0.0.0.0 serves every interface and needs a secret ADMIN_TOKEN)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                        help="port to listen on (default: $PORT or 8000)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")),
                        help="gunicorn worker processes (default: $WEB_CONCURRENCY or 2)")
    parser.add_argument("--database-url", default=None,
                        help="sqlite:///path or postgresql://user:pass@host:port/db "
                             "(default: $DATABASE_URL)")
    return parser.parse_args(argv)


# Tokens printed in the README and the Makefile: fine on loopback, never on a network.
PUBLISHED_TOKENS = {"demo-admin-token"}


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_published_token(host: str, token: str | None) -> None:
    """Exit with what to do when a published token would guard a server others can reach."""
    if token in PUBLISHED_TOKENS and not is_loopback(host):
        raise SystemExit(
            f"Refusing to listen on {host} with the published admin token {token!r}: anyone on "
            "the network could log in to /config. Set a secret one, e.g. "
            "ADMIN_TOKEN=$(openssl rand -hex 16), or listen on this machine only "
            "(--host 127.0.0.1, the default).")


def refuse_unusable_settings() -> None:
    """Exit with what to fix when the settings or the rule source cannot be read, before anything
    is printed or started (gunicorn's on_starting checks the same for a direct gunicorn run)."""
    import rule_source
    from license_server.config import from_environment
    try:
        rule_source.load(from_environment()["ALERT_RULES_FILE"], "ALERT_RULES_FILE")
    except ValueError as exc:
        raise SystemExit(f"Cannot start the license server: {exc}.") from exc


def main(argv=None) -> None:
    """Check the settings, then run gunicorn in the foreground."""
    args = parse_args(argv)
    token = os.environ.get("ADMIN_TOKEN")
    if not token and os.environ.get("ADMIN_TOKEN_FILE"):
        try:
            token = Path(os.environ["ADMIN_TOKEN_FILE"]).read_text().strip()
        except OSError:
            token = None  # from_environment reports the unreadable file with what to do
    refuse_published_token(args.host, token)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    refuse_unusable_settings()
    # prometheus_client picks multiprocess mode at import time: set the folder first.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="license-server-metrics-")
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    if not token:
        print("ADMIN_TOKEN is not set: /config and the admin API will refuse until it is.",
              flush=True)
    if not (os.environ.get("ALERT_WEBHOOK_TOKEN") or os.environ.get("ALERT_WEBHOOK_TOKEN_FILE")):
        print("ALERT_WEBHOOK_TOKEN is not set: POST /api/alerts/webhook refuses Alertmanager "
              "until it is (see the README's Security section).", flush=True)
    print(f"License server on http://{'localhost' if args.host == '0.0.0.0' else args.host}:"
          f"{args.port}/dashboard", flush=True)
    Server({"bind": f"{args.host}:{args.port}", "workers": args.workers}).run()


if __name__ == "__main__":
    main()
