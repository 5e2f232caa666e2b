"""What the demo endpoints share with the core: store, log events, their metrics."""
from __future__ import annotations

import logging

from flask import g, request
from prometheus_client import Counter

from license_server import logs
from license_server.db import get_store
from license_server.timestamps import iso  # noqa: F401 (the demo endpoints' timestamps)

FRONTEND_ERRORS = Counter("license_frontend_errors", "JavaScript errors reported by the pages.",
                          ["page", "kind"])
DEMO_ACTS = Counter("license_demo_acts", "Demo acts started, by scenario and act.",
                    ["scenario", "act"])


def request_id() -> str | None:
    """The id of the request being handled (as echoed in X-Request-ID)."""
    return g.get("request_id") or request.headers.get("X-Request-ID")


def log_event(event: str, message: str, level: str = "info", **fields) -> None:
    """Write one structured log line; the request id and synthetic flag are added by logs.py."""
    logs.log_event(event, message, level=getattr(logging, level.upper()), **fields)


def count_server_error(tool: str) -> None:
    """Count an injected failure as license_borrow_failures_total{reason="server_error"}."""
    from license_server import metrics
    metrics.BORROW_FAILURES.labels(tool=tool, reason="server_error").inc()


def count_frontend_error(page: str, kind: str) -> None:
    """Count one browser error report."""
    FRONTEND_ERRORS.labels(page=page, kind=kind).inc()


def count_demo_act(scenario: str, act: str) -> None:
    """Count one act marker."""
    DEMO_ACTS.labels(scenario=scenario, act=act).inc()
