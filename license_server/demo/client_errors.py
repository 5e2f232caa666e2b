"""Browser-side errors reported by the pages: logged with the request id and counted."""
from __future__ import annotations

import logging
import re

from flask import abort, g, request
from marshmallow import Schema, fields, validate
from prometheus_client import Counter

from license_server.logs import log_event
from license_server.openapi import Blueprint
from license_server.schemas import ErrorSchema, LenientSchema, literal

bp = Blueprint("client_errors", __name__, url_prefix="/api/client-errors",
               description="JavaScript errors reported by the pages.")

KINDS = ("error", "unhandledrejection")
PAGES = ("dashboard", "config")
MAX_FIELD = 2000
MAX_BYTES = 16_384
FRONTEND_ERRORS = Counter("license_frontend_errors", "JavaScript errors reported by the pages.",
                          ["page", "kind"])
MESSAGE_ERROR = 'Send a JSON body with at least {"message": "..."} describing the error.'
# The W3C trace id of the request the error broke on (32 lower-case hex digits, not all zero).
TRACE_ID = re.compile(r"(?!0{32})[0-9a-f]{32}")


class ClientErrorSchema(LenientSchema):
    """POST /api/client-errors; besides the message, whatever the browser knows, taken as given."""

    error_messages = {"type": MESSAGE_ERROR}
    message = fields.String(required=True, validate=validate.Length(min=1, error=literal(MESSAGE_ERROR)),
                            error_messages=dict.fromkeys(("required", "null", "invalid"), literal(MESSAGE_ERROR)))
    # Unknown kinds and pages are counted as "error" and "other"; the rest is only logged.
    kind = fields.Raw(load_default=None, metadata={"description": "error or unhandledrejection"})
    page = fields.Raw(load_default=None, metadata={"description": "dashboard, config or other"})
    source = fields.Raw(load_default=None)
    line = fields.Raw(load_default=None)
    column = fields.Raw(load_default=None)
    stack = fields.Raw(load_default=None)
    # Taken as given like the rest: a malformed one is logged as reported_trace_id, linked to nothing.
    trace_id = fields.Raw(load_default=None, metadata={
        "description": "trace of the request the error broke on (its X-Trace-Id): 32 hex digits"})


class RecordedSchema(Schema):
    """The report was logged under this request id (and the failing request's trace id)."""

    recorded = fields.Boolean()
    request_id = fields.String(allow_none=True)
    trace_id = fields.String(allow_none=True)


def _text(body: dict, key: str) -> str | None:
    """A string field of the report, cut to a sane length."""
    value = body.get(key)
    return str(value)[:MAX_FIELD] if value is not None else None


@bp.before_request
def limit_size():
    """Refuse an oversized report before its body is read."""
    if request.content_length and request.content_length > MAX_BYTES:
        abort(413, "A client error report is limited to 16 KB; send the message and a shortened stack.")


@bp.post("")
@bp.arguments(ClientErrorSchema())
@bp.response(201, RecordedSchema())
@bp.alt_response(400, schema=ErrorSchema)
@bp.alt_response(413, schema=ErrorSchema)
def report(body):
    """Record one JavaScript error, counted by page and kind and logged with the request id."""
    kind = body["kind"] if body["kind"] in KINDS else "error"
    # The page label stays bounded: anything unknown counts as "other".
    page = body["page"] if body["page"] in PAGES else "other"
    FRONTEND_ERRORS.labels(page=page, kind=kind).inc()
    trace_id = body["trace_id"] if isinstance(body["trace_id"], str) and TRACE_ID.fullmatch(body["trace_id"]) else None
    log_event("client_error", f"browser error on {page}: {_text(body, 'message')}",
              level=logging.ERROR, page=page, kind=kind, error_message=_text(body, "message"),
              source=_text(body, "source"), line=body["line"], column=body["column"],
              stack=_text(body, "stack"), user_agent=request.headers.get("User-Agent", "")[:200],
              trace_id=trace_id,
              reported_trace_id=None if trace_id or body["trace_id"] is None else _text(body, "trace_id"))
    # The id echoed in X-Request-ID, so the browser's report and the server's line meet; the
    # line's trace_id is the failing request's, so Grafana's trace link opens that request.
    answer = {"recorded": True, "request_id": g.get("request_id") or request.headers.get("X-Request-ID")}
    return {**answer, "trace_id": trace_id} if trace_id else answer
