"""Bearer tokens compared in constant time: the admin token and Alertmanager's webhook token."""
from __future__ import annotations

import hmac

from flask import abort, current_app, request

from license_server import token_guard
from license_server.schemas import NO_CONTROL_CHARS


def admin_token_matches(candidate: str) -> bool:
    """Whether `candidate` is the configured ADMIN_TOKEN, compared in constant time (never
    true while no token is configured): the one check of the admin API and /config/login."""
    expected = current_app.config.get("ADMIN_TOKEN") or ""
    return bool(expected) and hmac.compare_digest(candidate.encode(), expected.encode())


def bearer_token() -> str:
    """The token of the request's `Authorization: Bearer <token>` header ("" without one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def check_admin() -> str:
    """Abort 403 when no token is configured, 401 when missing or wrong; return the actor."""
    expected = current_app.config.get("ADMIN_TOKEN") or ""
    if not expected:
        abort(403, "Admin endpoints are disabled: start the server with ADMIN_TOKEN set "
                   "(e.g. ADMIN_TOKEN=$(openssl rand -hex 16)) and send it as "
                   "'Authorization: Bearer <token>'.")
    token = bearer_token()
    if not token:
        abort(401, "This endpoint needs the admin token: send 'Authorization: Bearer <ADMIN_TOKEN>'.")
    token_guard.refuse_if_limited()
    if not admin_token_matches(token):
        token_guard.record_failure()
        abort(401, "The admin token is wrong: use the ADMIN_TOKEN the server was started with.")
    return actor_name(request.headers.get("X-Actor"), "admin-api")


def actor_name(raw: str | None, default: str) -> str:
    """Who made a change, as the API's X-Actor header or the /config login's name field gives it.

    It is stored in the change history and logged: one short line without control characters
    (the request guard already refuses NUL), at most 100 characters; `default` when nothing is left.
    """
    return " ".join(NO_CONTROL_CHARS.sub(" ", raw or "").split())[:100] or default


def check_webhook() -> None:
    """Abort 403 when the server has no webhook token, 401 when the bearer is missing or wrong."""
    expected = current_app.config.get("ALERT_WEBHOOK_TOKEN") or ""
    if not expected:
        abort(403, "The alert webhook is disabled: start the server with ALERT_WEBHOOK_TOKEN "
                   "(or ALERT_WEBHOOK_TOKEN_FILE naming a file holding it) and give Alertmanager "
                   "the same token (webhook_configs http_config.authorization credentials_file).")
    token = bearer_token()
    if not token:
        abort(401, "This webhook needs Alertmanager's credential: send "
                   "'Authorization: Bearer <ALERT_WEBHOOK_TOKEN>'.")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        abort(401, "The webhook token is wrong: use the ALERT_WEBHOOK_TOKEN the server was "
                   "started with.")

