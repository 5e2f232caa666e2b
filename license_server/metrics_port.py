"""Serve /metrics on a port of its own (METRICS_PORT), never on the public one.

On Fly.io the public port is the internet; the per-user series of /metrics are not for it.
gunicorn binds the metrics port as a second address (gunicorn_conf.py) and wraps the app with
`split_ports`: the public port answers 404 for /metrics, the metrics port serves /metrics only.
"""
from __future__ import annotations

import json

METRICS_PATH = "/metrics"


def metrics_port(env: dict) -> int | None:
    """METRICS_PORT as a port number, None when unset; a clear error when it is not one."""
    value = env.get("METRICS_PORT", "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"METRICS_PORT={value!r} is not a port number: set it to e.g. 9091, "
                         "or leave it unset to serve /metrics on the main port")
    return int(value)


def _not_found(start_response, detail: str):
    """A JSON 404 in the server's error shape (docs/contracts.md)."""
    body = json.dumps({"error": "not_found", "detail": detail}).encode()
    start_response("404 NOT FOUND", [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(body)))])
    return [body]


def split_ports(app, port: int):
    """Wrap the WSGI `app`: /metrics only on `port`, everything else only off it."""
    def wsgi(environ, start_response):
        on_metrics_port = environ.get("SERVER_PORT") == str(port)
        is_metrics = environ.get("PATH_INFO", "") == METRICS_PATH
        if is_metrics and not on_metrics_port:
            return _not_found(start_response, f"{METRICS_PATH} is not served on this port.")
        if on_metrics_port and not is_metrics:
            return _not_found(start_response, f"This port serves {METRICS_PATH} only; the API "
                                              "is on the main port.")
        return app(environ, start_response)
    return wsgi
