"""JSON log lines on stdout (and optionally Loki), with the request id of every request."""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from license_server import tracing

LOGGER_NAME = "license_server"
logger = logging.getLogger(LOGGER_NAME)
# A client's X-Request-ID is kept only when it is short and plain: it lands in every log line,
# in Grafana's derived-field regex ("request_id": "([^"]+)") and in LogQL string filters, so no
# quotes, backslashes, spaces or control characters. Locust, the stress test, the demo clients,
# the browser's reporter (UUIDs) and generated ids all fit.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class StdoutHandler(logging.StreamHandler):
    """A stream handler that writes to whatever sys.stdout is at emit time."""

    @property
    def stream(self):
        """The current sys.stdout (so captured output in tests sees the lines)."""
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        """Ignore StreamHandler's assignment: the stream is always sys.stdout."""


class RequestContextFilter(logging.Filter):
    """Add the request id, the synthetic-traffic flag and whether the client's request id was
    replaced to lines logged inside a request, and the trace and span ids inside a span."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Copy request and trace fields onto the record unless the caller set them."""
        ids = tracing.current_ids()
        if ids and getattr(record, "trace_id", None) is None:
            record.trace_id, record.span_id = ids
        if has_request_context():
            if getattr(record, "request_id", None) is None:
                record.request_id = g.get("request_id")
            if g.get("synthetic") and not hasattr(record, "synthetic"):
                record.synthetic = True
            if g.get("request_id_replaced") and not hasattr(record, "request_id_replaced"):
                record.request_id_replaced = True
        return True


def json_formatter() -> JsonFormatter:
    """The formatter of every line: timestamp, level, message, then the event fields."""
    return JsonFormatter("{levelname}{message}", style="{", rename_fields={"levelname": "level"},
                         timestamp=True)


def setup(app, on_drop=None) -> None:
    """Send the app's log lines to stdout (once per process) and to Loki when configured."""
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    logger.propagate = False
    if not any(isinstance(h, StdoutHandler) for h in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(json_formatter())
        handler.addFilter(RequestContextFilter())
        logger.addHandler(handler)
    if app.config.get("LOKI_URL") and not any(type(h).__name__ == "LokiHandler" for h in logger.handlers):
        from license_server.loki_push import LokiHandler
        loki = LokiHandler(app.config["LOKI_URL"], user=app.config.get("LOKI_USER"),
                           password=app.config.get("LOKI_PASSWORD"), on_drop=on_drop)
        loki.setFormatter(json_formatter())
        loki.addFilter(RequestContextFilter())
        logger.addHandler(loki)


def seat_kind(seat: dict) -> str:
    """"overage" or "commit": how return, force_return and lease_expired lines name the seat."""
    return "overage" if seat["overage"] else "commit"


def log_event(event: str, message: str, level: int = logging.INFO, **fields) -> None:
    """Write one structured line; None-valued fields are left out."""
    logger.log(level, message, extra={"event": event,
                                      **{k: v for k, v in fields.items() if v is not None}})


def start_request() -> None:
    """Take the request id from X-Request-ID (or make one) and start the clock.

    An id that is not 1-128 of [A-Za-z0-9._:-] is replaced by a generated one, and the
    request's lines say so (`request_id_replaced: true`): the request itself goes on.
    """
    incoming = request.headers.get("X-Request-ID", "").strip()
    if REQUEST_ID.fullmatch(incoming):
        g.request_id = incoming
    else:
        g.request_id = uuid.uuid4().hex
        g.request_id_replaced = bool(incoming)
    g.synthetic = request.headers.get("X-Synthetic", "").lower() in ("1", "true", "yes")
    g.started = time.perf_counter()
    tracing.tag_request(g.request_id)


def finish_request(response, route: str):
    """Echo the request id (and the trace id, when traced) and log one http_request line."""
    response.headers["X-Request-ID"] = g.get("request_id", "")
    ids = tracing.current_ids()
    if ids:
        response.headers[tracing.TRACE_ID_HEADER] = ids[0]
    duration_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    log_event("http_request", f"{request.method} {request.path} {response.status_code}",
              method=request.method, path=request.path, route=route,
              status=response.status_code, duration_ms=round(duration_ms, 2))
    return response
