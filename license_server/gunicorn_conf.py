"""gunicorn settings for production: workers, loopback-or-any bind, multiprocess metrics."""
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
    """Give prometheus_client a clean multiprocess folder before any worker starts."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="license-server-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the multiprocess files."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)
