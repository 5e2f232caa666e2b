"""gunicorn settings for production: workers, loopback-or-any bind, multiprocess metrics.

With METRICS_PORT set, /metrics moves to that port (a second bind on the same host) and the
main port answers 404 for it (license_server/metrics_port.py); Fly.io scrapes it internally.
"""
from __future__ import annotations

import os
import shutil
import tempfile

# Loopback unless HOST says otherwise: the container image and Fly set HOST=0.0.0.0 on purpose.
bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# Keep-alive lets load generators and Prometheus reuse connections.
keepalive = 5
timeout = 30
graceful_timeout = 10
accesslog = None  # the app logs one JSON http_request line per request
errorlog = "-"
loglevel = "warning"


def on_starting(server):
    """Before any worker starts: the metrics port bound (if set), a clean multiprocess
    folder and a ready database."""
    from license_server.metrics_port import metrics_port
    port = metrics_port(os.environ)
    if port is not None:
        # METRICS_HOST, else the main address. On Fly.io the scraper app comes over the private
        # IPv6 network (6PN), which a 0.0.0.0 bind does not reach: fly.toml sets [::].
        host = os.environ.get("METRICS_HOST") or server.cfg.bind[0].rsplit(":", 1)[0]
        server.cfg.set("bind", [*server.cfg.bind, f"{host}:{port}"])
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="license-server-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    from license_server import gunicorn_errors
    gunicorn_errors.install()
    # Schema, WAL mode and catalog once here, so workers booting together never race for them.
    import rule_source
    from license_server import db
    from license_server.config import from_environment, load_tools
    from license_server import tracing
    try:
        settings = from_environment()
        rule_source.load(settings["ALERT_RULES_FILE"], "ALERT_RULES_FILE")
        tracing.check(settings)
    except ValueError as exc:
        raise SystemExit(f"Cannot start the license server: {exc}.") from exc
    try:
        db.prepare(settings["DATABASE_URL"], load_tools(settings["TOOLS_FILE"]))
    except Exception as exc:
        raise SystemExit(f"Cannot prepare the database {settings['DATABASE_URL']}: {exc}. "
                         "Check DATABASE_URL and that the database accepts connections.") from exc


def post_fork(server, worker):
    """Start the worker's own trace exporter (when an OTLP endpoint is set): the master never
    traces, and an exporter's thread would not survive the fork anyway."""
    from license_server import tracing
    from license_server.config import from_environment
    tracing.start(from_environment())


def worker_exit(server, worker):
    """Send the worker's last spans before it goes (gunicorn runs this in the worker)."""
    from license_server import tracing
    tracing.shutdown()


def post_worker_init(worker):
    """Keep /metrics off the main port when METRICS_PORT is set."""
    from license_server.metrics_port import metrics_port, split_ports
    port = metrics_port(os.environ)
    if port is not None:
        worker.wsgi = split_ports(worker.wsgi, port)


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the multiprocess files."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
