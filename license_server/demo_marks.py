"""Act markers: each act of a demo journey logged and exposed as a timestamp for annotations."""
from __future__ import annotations

import re
import time

from flask import abort
from marshmallow import Schema, fields, validate

from license_server import demo_support
from license_server.openapi import Blueprint
from license_server.schemas import ErrorSchema, LenientSchema, literal

bp = Blueprint("demo_marks", __name__, url_prefix="/api/demo/marks",
               description="Act markers of the demo journeys.")
STATE_KEY = "demo_marks"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
NAME_ERROR = ('Send {"scenario": "overage-crisis", "act": "fix"}: lower-case letters, digits, '
              "- and _, at most 40 characters each.")
# Label values must stay bounded: at most this many scenario/act pairs are kept.
MAX_MARKS = 200


def _name_field() -> fields.String:
    """A required scenario or act name; every error repeats what to send."""
    error = literal(NAME_ERROR)
    return fields.String(required=True, validate=validate.Regexp(NAME_RE, error=error),
                         error_messages=dict.fromkeys(("required", "null", "invalid"), error))


class MarkRequestSchema(LenientSchema):
    """POST /api/demo/marks."""

    error_messages = {"type": NAME_ERROR}
    scenario = _name_field()
    act = _name_field()


class MarkSchema(Schema):
    """An act marked: its latest start and, in the list, how often it was marked."""

    scenario = fields.String()
    act = fields.String()
    at = fields.String()
    count = fields.Integer()


def marks(store) -> dict[str, dict]:
    """Latest mark per "scenario/act": {"scenario", "act", "at", "count"}."""
    return store.get_demo_state(STATE_KEY) or {}


@bp.get("")
@bp.response(200, MarkSchema(many=True))
def list_marks():
    """Every act marked so far with its latest time."""
    return sorted(({**m, "at": demo_support.iso(m["at"])} for m in marks(demo_support.get_store()).values()),
                  key=lambda m: m["at"])


@bp.post("")
@bp.admin
@bp.arguments(MarkRequestSchema())
@bp.response(201, MarkSchema())
@bp.alt_response(400, schema=ErrorSchema)
@bp.alt_response(409, schema=ErrorSchema)
def mark(body):
    """Record that an act starts now (admin), e.g. {"scenario": "overage-crisis", "act": "fix"}."""
    scenario, act = body["scenario"], body["act"]
    store = demo_support.get_store()
    state = marks(store)
    key = f"{scenario}/{act}"
    if key not in state and len(state) >= MAX_MARKS:
        abort(409, f"Already {MAX_MARKS} distinct acts marked; reset the server (POST /api/reset "
                   "clears the marks) before adding new names.")
    now = time.time()
    state[key] = {"scenario": scenario, "act": act, "at": now,
                  "count": state.get(key, {}).get("count", 0) + 1}
    store.set_demo_state(STATE_KEY, state)
    demo_support.count_demo_act(scenario, act)
    demo_support.log_event("demo_act", f"{scenario}: act {act}", scenario=scenario, act=act)
    return {"scenario": scenario, "act": act, "at": demo_support.iso(now)}


def act_gauge_samples(store) -> list[tuple[dict, float]]:
    """license_demo_act_timestamp_seconds samples: the latest start of each act."""
    return [({"scenario": m["scenario"], "act": m["act"]}, m["at"]) for m in marks(store).values()]
