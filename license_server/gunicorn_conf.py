"""gunicorn settings for production: workers, loopback-or-any bind, multiprocess metrics.

With METRICS_PORT set, /metrics moves to that port (a second bind on the same host) and the
main port answers 404 for it (license_server/metrics_port.py); Fly.io scrapes it internally.
"""
from __future__ import annotations

import os
import shutil
import tempfile

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
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
    """Bind the metrics port too (if set); give prometheus_client a clean multiprocess folder."""
    from license_server.metrics_port import metrics_port
    port = metrics_port(os.environ)
    if port is not None:
        host = server.cfg.bind[0].rsplit(":", 1)[0]
        server.cfg.set("bind", [*server.cfg.bind, f"{host}:{port}"])
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="license-server-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


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
