"""Server status for clients: when the demo state was last reset and which version runs."""
from __future__ import annotations

import time

from flask import current_app
from marshmallow import Schema, fields

from license_server.db import get_store
from license_server.openapi import Blueprint
from license_server.timestamps import iso

# The demo_state key the reset handler writes after clearing the state.
RESET_KEY = "last_reset_at"

bp = Blueprint("status", __name__, url_prefix="/api",
               description="When the server was last reset, so clients can ignore older history.")


class ServerStatusSchema(Schema):
    """GET /api/status."""

    last_reset_at = fields.String(allow_none=True, metadata={
        "description": "RFC 3339 UTC time of the last POST /api/reset; null if never reset"})
    version = fields.String(metadata={"description": "the version running now (GET /api/deployments)"})


def record_reset(store) -> None:
    """Remember the time of a reset (called right after the state is cleared)."""
    store.set_demo_state(RESET_KEY, time.time())


@bp.get("/status")
@bp.response(200, ServerStatusSchema)
def status():
    """When the demo state was last reset and the version running now."""
    store = get_store()
    at = store.get_demo_state(RESET_KEY)
    return {"last_reset_at": iso(at) if at else None,
            "version": current_app.extensions["build_info"]()["version"]}
