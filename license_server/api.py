"""The JSON API: tools, borrow, return, borrows, admin configuration, force-return, reset."""
from __future__ import annotations

import hashlib
import json
import logging
import re

from flask import abort, current_app, g, request

from werkzeug.exceptions import HTTPException

from license_server import (admin_actions, config_changes, events, incident_rule, reaper, status,
                            story_store)
from license_server.config import load_tools
from license_server.db import get_store
from license_server.openapi import Blueprint
from license_server.errors import Exhausted, LicenseError, UnknownTool
from license_server.logs import log_event
from license_server.schemas import (BorrowQuerySchema, BorrowRequestSchema, BorrowSchema,
                                    ErrorSchema, ForceReturnSchema, ReturnRequestSchema,
                                    StatusSchema, ToolSchema, ToolUpdateSchema)

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api", description="Borrow and return tool seats.")


@bp.get("/tools")
@bp.response(200, ToolSchema(many=True))
def list_tools():
    """Every tool with its configuration and live state."""
    return get_store().list_tools()


@bp.get("/tools/<path:name>")
@bp.response(200, ToolSchema())
@bp.alt_response(404, schema=ErrorSchema)
def get_tool(name):
    """One tool with its configuration and live state."""
    tool = get_store().get_tool(name)
    if tool is None:
        raise UnknownTool(f"No tool named {name!r}. GET /api/tools lists the catalog.")
    return tool


IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,200}$")


@bp.post("/borrow")
@bp.arguments(BorrowRequestSchema())
@bp.response(201, BorrowSchema())
@bp.alt_response(400, schema=ErrorSchema)
@bp.alt_response(404, schema=ErrorSchema)
@bp.alt_response(409, schema=ErrorSchema)
@bp.alt_response(422, schema=ErrorSchema)
@bp.doc(parameters=[{
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": False,
    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern, "maxLength": 200},
    "description": "A client-chosen key per borrow (e.g. a UUID). A retry with the same key and "
                   "body within IDEMPOTENCY_SECONDS (24 h) answers the first borrow again instead "
                   "of taking a second seat; the same key with another body is 422."}])
def borrow(body):
    """Borrow a seat: commit first, then overage (charged), 409 when none is left."""
    idempotency = idempotency_of(body)
    store = get_store()
    try:
        seat = take_seat(store, body, idempotency)
    except (UnknownTool, Exhausted) as exc:
        events.borrow_refused(body["tool"], exc.code, store=store, user=body["user"], team=body["team"])
        raise
    except (LicenseError, HTTPException):
        raise
    except Exception:
        events.borrow_failed(store, body["tool"])
        raise
    # A client that marks its runs sends X-Run-ID with each borrow; without it the dashboard
    # splits runs at quiet gaps (license_server/overview.py).
    events.borrow_run(store, seat["id"], request.headers.get("X-Run-ID", ""))
    if seat.pop("replayed", False):
        # The first answer again: no second seat, so nothing more to count or log as a borrow.
        return seat, 201, {"Idempotent-Replayed": "true"}
    events.borrow_granted(seat, body["lease_seconds"])
    return seat


def idempotency_of(body: dict) -> tuple[str, str, float] | None:
    """(key, digest of the request, seconds kept) from the Idempotency-Key header, if sent."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.match(key):
        abort(400, f"{IDEMPOTENCY_HEADER} must be 1-200 visible ASCII characters, e.g. a UUID.")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return key, digest, float(current_app.config["IDEMPOTENCY_SECONDS"])


def take_seat(store, body: dict, idempotency=None) -> dict:
    """Borrow; when the tool is full, reclaim expired leases first and try once more."""
    try:
        return store.borrow(body["tool"], body["user"], body["team"], body["lease_seconds"],
                            idempotency=idempotency)
    except Exhausted:
        # A seat whose lease ran out is free even before the periodic sweep gets to it.
        if not reaper.reclaim(store):
            raise
        return store.borrow(body["tool"], body["user"], body["team"], body["lease_seconds"],
                            idempotency=idempotency)


@bp.post("/return")
@bp.arguments(ReturnRequestSchema())
@bp.response(200, BorrowSchema())
@bp.alt_response(404, schema=ErrorSchema)
@bp.alt_response(409, schema=ErrorSchema)
def return_seat(body):
    """Return a borrowed seat; a second return of the same id frees nothing (409)."""
    seat = get_store().return_borrow(body["id"])
    events.seat_returned(seat)
    return seat


@bp.get("/borrows")
@bp.arguments(BorrowQuerySchema(), location="query")
@bp.response(200, BorrowSchema(many=True))
def list_borrows(query):
    """Active borrows, filtered by user, tool and team."""
    return get_store().active_borrows(**query)


@bp.put("/config/tools/<path:name>")
@bp.admin
@bp.arguments(ToolUpdateSchema())
@bp.response(200, ToolSchema())
@bp.alt_response(404, schema=ErrorSchema)
def update_tool(changes, name):
    """Change a tool's commit, max_overage or costs (admin). Seats in use are never revoked."""
    _, tool = config_changes.apply(get_store(), name, changes, g.actor, source="api")
    return tool


@bp.post("/users/<user>/force-return")
@bp.admin
@bp.response(200, ForceReturnSchema)
def force_return(user):
    """Free every seat a user holds (admin); returns how many."""
    freed = admin_actions.force_return(get_store(), user, g.actor)
    return {"user": user, "returned": len(freed), "ids": [seat["id"] for seat in freed]}


@bp.post("/reset")
@bp.admin
@bp.response(200, StatusSchema)
def reset():
    """Fresh demo state: the catalog from the tools file, no borrows or history (admin)."""
    actor = g.actor
    store = get_store()
    store.reset(load_tools(current_app.config["TOOLS_FILE"]))
    status.record_reset(store)
    closed = []
    try:  # the incident story starts afresh; the reset itself is done whatever happens here
        story_store.clear(store)
        closed = incident_rule.close_on_reset(store, actor)
    except Exception:
        log.exception("could not close the incident story on reset")
    log_event("reset", f"{actor} reset the server to a fresh demo state", actor=actor)
    incidents = f" Open incidents closed (nothing verified): {', '.join(closed)}." if closed else ""
    return {"status": "ok", "detail": f"Catalog reloaded; every borrow, change and alert cleared.{incidents}"}
