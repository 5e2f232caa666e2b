"""Browser-side errors reported by the pages: logged with the request id and counted."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from license_server import demo_support

bp = Blueprint("client_errors", __name__)

KINDS = ("error", "unhandledrejection")
PAGES = ("dashboard", "config")
MAX_FIELD = 2000


def _text(body: dict, key: str) -> str | None:
    """A string field of the report, cut to a sane length."""
    value = body.get(key)
    return str(value)[:MAX_FIELD] if value is not None else None


@bp.post("/api/client-errors")
def report():
    """Record one JavaScript error: {"message", "kind"?, "page"?, "source"?, "line"?, "stack"?}."""
    if request.content_length and request.content_length > 16_384:
        abort(413, "A client error report is limited to 16 KB; send the message and a shortened stack.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not body["message"]:
        abort(400, 'Send a JSON body with at least {"message": "..."} describing the error.')
    kind = body.get("kind") if body.get("kind") in KINDS else "error"
    # The page label stays bounded: anything unknown counts as "other".
    page = body.get("page") if body.get("page") in PAGES else "other"
    demo_support.count_frontend_error(page, kind)
    demo_support.log_event("client_error", f"browser error on {page}: {_text(body, 'message')}",
                           level="error", page=page, kind=kind, error_message=_text(body, "message"),
                           source=_text(body, "source"), line=body.get("line"),
                           column=body.get("column"), stack=_text(body, "stack"),
                           user_agent=request.headers.get("User-Agent", "")[:200])
    return jsonify({"recorded": True, "request_id": demo_support.request_id()}), 201
