"""Liveness and readiness probes."""
from __future__ import annotations


from license_server.db import get_store
from license_server.openapi import Blueprint
from license_server.schemas import StatusSchema

bp = Blueprint("health", __name__, description="Probes for orchestrators and load balancers.")


@bp.get("/healthz")
@bp.response(200, StatusSchema)
def healthz():
    """The process is alive."""
    return {"status": "ok", "detail": "alive"}


@bp.get("/readyz")
@bp.response(200, StatusSchema)
@bp.alt_response(503, schema=StatusSchema)
def readyz():
    """The database answers a query."""
    try:
        get_store().ping()
    except Exception as exc:  # any driver error means "not ready"
        return {"status": "unavailable", "detail": f"database unreachable: {exc}"}, 503
    return {"status": "ok", "detail": "database reachable"}
