"""Fault switches for the demo journeys: graded, switchable at run time, kept in the database."""
from __future__ import annotations

import logging
import random
import time

from flask import abort, g, request
from marshmallow import Schema, fields

from license_server import events
from license_server.db import get_store
from license_server.errors import LicenseError
from license_server.logs import log_event
from license_server.openapi import Blueprint
from license_server.schemas import ErrorSchema, LenientSchema, literal
from license_server.timestamps import iso

bp = Blueprint("faults", __name__, url_prefix="/api/faults",
               description="Fault switches for the demo journeys.")

# Each fault with its variants (besides "off") and what a variant does.
FAULTS = {
    "borrow_errors": {
        "description": "A share of POST /api/borrow answers 503 (counted as reason server_error).",
        "variants": {"10pct": 10, "25pct": 25, "50pct": 50, "100pct": 100},
    },
    "borrow_latency": {
        "description": "Every POST /api/borrow waits before it is handled.",
        "variants": {"250ms": 0.25, "1s": 1.0, "3s": 3.0},
    },
    "dashboard_js_error": {
        "description": "The borrow widget on /dashboard throws a JavaScript error when used.",
        "variants": {"on": True},
    },
}
STATE_KEY = "faults"


def active_faults(store) -> dict[str, dict]:
    """The faults switched on now: name -> {"variant", "since"}."""
    state = store.get_demo_state(STATE_KEY) or {}
    return {name: entry for name, entry in state.items()
            if name in FAULTS and entry.get("variant") in FAULTS[name]["variants"]}


def set_faults(store, wanted: dict[str, str]) -> dict[str, dict]:
    """Switch faults to the given variants ("off" clears); return the new active set."""
    for name, variant in wanted.items():
        check_variant(name, variant)
    state = active_faults(store)
    now = time.time()
    for name, variant in wanted.items():
        if variant == "off":
            state.pop(name, None)
        elif state.get(name, {}).get("variant") != variant:
            state[name] = {"variant": variant, "since": now}
    store.set_demo_state(STATE_KEY, state)
    return state


def check_variant(name: str, variant) -> None:
    """Abort with 404/400 and a helpful sentence when the fault or variant is unknown."""
    if name not in FAULTS:
        abort(404, f"There is no fault named {name!r}; known faults: {', '.join(FAULTS)}.")
    variants = FAULTS[name]["variants"]
    if variant != "off" and variant not in variants:
        abort(400, f"{name} has no variant {variant!r}; use one of: off, {', '.join(variants)}.")


def describe(name: str, active: dict) -> dict:
    """One fault as the API shows it."""
    entry = active.get(name)
    return {"name": name, "description": FAULTS[name]["description"],
            "variants": ["off", *FAULTS[name]["variants"]],
            "variant": entry["variant"] if entry else "off",
            "since": iso(entry["since"]) if entry else None}


VARIANT_ERROR = ('Send a JSON body like {"variant": "off"}: "off" or one of the fault\'s variants '
                 "(GET /api/faults lists them).")


class FaultSchema(Schema):
    """A fault switch with its variants and current state."""

    name = fields.String()
    description = fields.String()
    variants = fields.List(fields.String())
    variant = fields.String()
    since = fields.String(allow_none=True)


class FaultSwitchSchema(LenientSchema):
    """PUT /api/faults/<name>; the variant is checked against the fault in the view."""

    error_messages = {"type": VARIANT_ERROR}
    variant = fields.String(required=True, error_messages=dict.fromkeys(("required", "null", "invalid"),
                                                                        literal(VARIANT_ERROR)))


@bp.get("")
@bp.response(200, FaultSchema(many=True))
def list_faults():
    """Every fault switch with its variants and current state."""
    active = active_faults(get_store())
    return [describe(name, active) for name in FAULTS]


@bp.get("/<name>")
@bp.response(200, FaultSchema())
@bp.alt_response(404, schema=ErrorSchema)
def show_fault(name):
    """One fault switch."""
    check_variant(name, "off")
    return describe(name, active_faults(get_store()))


@bp.put("/<name>")
@bp.admin
@bp.arguments(FaultSwitchSchema())
@bp.response(200, FaultSchema())
@bp.alt_response(400, schema=ErrorSchema)
@bp.alt_response(404, schema=ErrorSchema)
def switch_fault(body, name):
    """Switch one fault to a variant, or "off" (admin)."""
    variant = body["variant"]
    check_variant(name, variant)
    active = set_faults(get_store(), {name: variant})
    log_event("fault_change", f"fault {name} set to {variant}",
              level=logging.WARNING if variant != "off" else logging.INFO, fault=name, variant=variant)
    return describe(name, active)


class InjectedServerError(LicenseError):
    """A borrow failed on purpose: the borrow_errors fault is on."""

    code, status = "server_error", 503


@bp.before_app_request
def borrow_faults_hook():
    """Apply the borrow faults to POST /api/borrow before its view runs."""
    if request.endpoint == "api.borrow":
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("tool"), str):
            apply_borrow_faults(body["tool"])


def apply_borrow_faults(tool: str) -> None:
    """Add latency, or fail with 503 by chance; once per request however often it is called."""
    if g.get("borrow_faults_applied"):
        return
    g.borrow_faults_applied = True
    active = active_faults(get_store())
    latency = active.get("borrow_latency")
    if latency:
        time.sleep(FAULTS["borrow_latency"]["variants"][latency["variant"]])
    errors = active.get("borrow_errors")
    if errors and random.random() * 100 < FAULTS["borrow_errors"]["variants"][errors["variant"]]:
        body = request.get_json(silent=True) or {}
        events.borrow_refused(tool, "server_error", store=get_store(), user=body.get("user"),
                              team=body.get("team"), message=f"Borrow of {tool} failed: server error",
                              level=logging.ERROR, fault="borrow_errors", variant=errors["variant"])
        raise InjectedServerError("The server failed to handle this borrow; retry, and if it "
                                  "keeps failing check the latest deployment and /api/faults.")


def fault_gauge_samples(store) -> list[tuple[dict, float]]:
    """license_fault_active samples: 1 for each active fault's variant, 0 for the rest."""
    active = active_faults(store)
    samples = []
    for name, spec in FAULTS.items():
        for variant in spec["variants"]:
            on = active.get(name, {}).get("variant") == variant
            samples.append(({"fault": name, "variant": variant}, 1.0 if on else 0.0))
    return samples
