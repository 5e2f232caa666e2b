"""Act markers: each act of a demo journey logged and exposed as a timestamp for annotations."""
from __future__ import annotations

import re
import time

from flask import Blueprint, abort, jsonify, request

from license_server import demo_support

bp = Blueprint("demo_marks", __name__)
STATE_KEY = "demo_marks"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# Label values must stay bounded: at most this many scenario/act pairs are kept.
MAX_MARKS = 200


def marks(store) -> dict[str, dict]:
    """Latest mark per "scenario/act": {"scenario", "act", "at", "count"}."""
    return store.get_demo_state(STATE_KEY) or {}


@bp.get("/api/demo/marks")
def list_marks():
    """Every act marked so far with its latest time."""
    return jsonify(sorted(({**m, "at": demo_support.iso(m["at"])}
                           for m in marks(demo_support.get_store()).values()),
                          key=lambda m: m["at"]))


@bp.post("/api/demo/marks")
def mark():
    """Record that an act starts now (admin): {"scenario": "overage-crisis", "act": "fix"}."""
    demo_support.require_admin()
    body = request.get_json(silent=True) or {}
    scenario, act = body.get("scenario"), body.get("act")
    if not all(isinstance(v, str) and NAME_RE.match(v) for v in (scenario, act)):
        abort(400, 'Send {"scenario": "overage-crisis", "act": "fix"}: lower-case letters, digits, '
                   "- and _, at most 40 characters each.")
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
    return jsonify({"scenario": scenario, "act": act, "at": demo_support.iso(now)}), 201


def act_gauge_samples(store) -> list[tuple[dict, float]]:
    """license_demo_act_timestamp_seconds samples: the latest start of each act."""
    return [({"scenario": m["scenario"], "act": m["act"]}, m["at"]) for m in marks(store).values()]
