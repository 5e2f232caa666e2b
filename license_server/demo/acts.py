"""Acts of the demo journeys: each act's start logged, counted and exposed as a timestamp for
Grafana's annotations (POST /api/demo/marks marks an act as started)."""
from __future__ import annotations

import re
import time

from flask import abort
from marshmallow import Schema, fields, validate

from prometheus_client import Counter

from license_server.db import get_store
from license_server.logs import log_event
from license_server.openapi import Blueprint
from license_server.schemas import ErrorSchema, LenientSchema, literal
from license_server.timestamps import iso

bp = Blueprint("acts", __name__, url_prefix="/api/demo/marks",
               description="Act markers of the demo journeys.")
# The demo_state key (a stored name, kept as it was).
STATE_KEY = "demo_marks"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
NAME_ERROR = ('Send {"journey": "overage-crisis", "act": "fix"}: lower-case letters, digits, '
              "- and _, at most 40 characters each.")
DEMO_ACTS = Counter("license_demo_acts", "Demo acts started, by journey and act.",
                    ["journey", "act"])
# Label values must stay bounded: at most this many journey/act pairs are kept.
MAX_ACTS = 200


def _name_field() -> fields.String:
    """A required journey or act name; every error repeats what to send."""
    error = literal(NAME_ERROR)
    return fields.String(required=True, validate=validate.Regexp(NAME_RE, error=error),
                         error_messages=dict.fromkeys(("required", "null", "invalid"), error))


class ActRequestSchema(LenientSchema):
    """POST /api/demo/marks."""

    error_messages = {"type": NAME_ERROR}
    journey = _name_field()
    act = _name_field()


class ActSchema(Schema):
    """An act marked: its latest start and, in the list, how often it was marked."""

    journey = fields.String()
    act = fields.String()
    at = fields.String()
    count = fields.Integer()


def acts(store) -> dict[str, dict]:
    """Latest start per "journey/act": {"journey", "act", "at", "count"}."""
    state = store.get_demo_state(STATE_KEY) or {}
    # Marks stored before the field was called journey keep their old name until a reset.
    return {key: {"journey": mark.get("journey", mark.get("scenario")), "act": mark["act"],
                  "at": mark["at"], "count": mark.get("count", 1)} for key, mark in state.items()}


@bp.get("")
@bp.response(200, ActSchema(many=True))
def list_acts():
    """Every act marked so far with its latest time."""
    return sorted(({**m, "at": iso(m["at"])} for m in acts(get_store()).values()),
                  key=lambda m: m["at"])


@bp.post("")
@bp.admin
@bp.arguments(ActRequestSchema())
@bp.response(201, ActSchema())
@bp.alt_response(400, schema=ErrorSchema)
@bp.alt_response(409, schema=ErrorSchema)
def start_act(body):
    """Record that an act starts now (admin), e.g. {"journey": "overage-crisis", "act": "fix"}."""
    journey, act = body["journey"], body["act"]
    store = get_store()
    state = acts(store)
    key = f"{journey}/{act}"
    if key not in state and len(state) >= MAX_ACTS:
        abort(409, f"Already {MAX_ACTS} distinct acts marked; reset the server (POST /api/reset "
                   "clears the marks) before adding new names.")
    now = time.time()
    state[key] = {"journey": journey, "act": act, "at": now,
                  "count": state.get(key, {}).get("count", 0) + 1}
    store.set_demo_state(STATE_KEY, state)
    DEMO_ACTS.labels(journey=journey, act=act).inc()
    log_event("demo_act", f"{journey}: act {act}", journey=journey, act=act)
    return {"journey": journey, "act": act, "at": iso(now)}


def act_gauge_samples(store) -> list[tuple[dict, float]]:
    """license_demo_act_timestamp_seconds samples: the latest start of each act."""
    return [({"journey": m["journey"], "act": m["act"]}, m["at"]) for m in acts(store).values()]
