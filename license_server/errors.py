"""Domain errors raised by the store and their JSON shape on the wire (handlers: error_pages)."""
from __future__ import annotations

from flask import jsonify


class LicenseError(Exception):
    """Base of the errors a client can cause; `code` is the JSON error, `status` the HTTP one."""

    code = "error"
    status = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class UnknownTool(LicenseError):
    """The named tool is not in the catalog."""

    code, status = "unknown_tool", 404


class Exhausted(LicenseError):
    """Every commit and overage seat of the tool is in use."""

    code, status = "exhausted", 409


class UnknownBorrow(LicenseError):
    """No borrow has that id."""

    code, status = "unknown_borrow", 404


class AlreadyReturned(LicenseError):
    """The borrow was returned (or reclaimed) before."""

    code, status = "already_returned", 409


class IdempotencyMismatch(LicenseError):
    """An Idempotency-Key was reused with a different request."""

    code, status = "idempotency_key_reused", 422


# Short error codes for HTTP errors raised with abort().
HTTP_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 414: "uri_too_long",
              415: "unsupported_media_type", 422: "invalid_request", 429: "too_many_requests",
              431: "headers_too_large", 500: "server_error", 503: "server_error"}


def error_response(status: int, code: str, detail: str):
    """The one JSON error shape: {"error": code, "detail": sentence}."""
    response = jsonify({"error": code, "detail": detail})
    response.status_code = status
    return response


def flatten(messages) -> str:
    """Turn marshmallow's nested messages into one readable sentence."""
    parts = []

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                # "json" and "query" name the request part and "_schema" the whole body, not a field.
                name = "" if key in ("json", "query", "_schema") else str(key)
                walk(".".join(p for p in (prefix, name) if p), inner)
        elif isinstance(value, list):
            parts.append(f"{prefix or 'body'}: {' '.join(str(v) for v in value)}")
        else:
            parts.append(f"{prefix or 'body'}: {value}")

    walk("", messages)
    return "; ".join(parts)
