"""Deployments for the demo: record a new version (optionally with faults) and roll back to the last."""
from __future__ import annotations

import re
import time

from flask import abort, current_app
from marshmallow import Schema, fields, validate

from license_server.build import base_build
from license_server.db import get_store
from license_server.demo import faults
from license_server.logs import log_event
from license_server.openapi import Blueprint
from license_server.schemas import ErrorSchema, LenientSchema, literal
from license_server.timestamps import iso

bp = Blueprint("deployments", __name__, url_prefix="/api/deployments",
               description="Deployments of the demo: versions, the faults they bring, rollbacks.")
STATE_KEY = "deployments"
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$")
FAULTS_ERROR = 'Map fault names to variants, e.g. {"borrow_errors": "50pct"}.'


def _version_field(what: str, example: str) -> fields.String:
    """A required version or commit name, with a sentence saying what to send."""
    error = f'Send a {what} such as "{example}": letters, digits and . _ + -, at most 40 characters.'
    return fields.String(required=True, validate=validate.Regexp(VERSION_RE, error=error),
                         error_messages={"required": error, "null": error, "invalid": error})


class DeployRequestSchema(LenientSchema):
    """POST /api/deployments; fault names and variants are checked in the view."""

    error_messages = {"type": 'Send a JSON object like {"version": "1.5.0", "commit": "a1b2c3d"}.'}
    version = _version_field("version", "1.5.0")
    commit = _version_field("commit", "a1b2c3d")
    faults = fields.Dict(keys=fields.String(), load_default=None, allow_none=True,
                         values=fields.String(error_messages=dict.fromkeys(("invalid", "null"), literal(FAULTS_ERROR))),
                         error_messages={"invalid": literal(FAULTS_ERROR)})


class DeploymentSchema(Schema):
    """A deployment; history entries add the action and, for a rollback, the version undone."""

    version = fields.String()
    commit = fields.String()
    deployed_at = fields.String(allow_none=True)
    faults = fields.Dict(keys=fields.String(), values=fields.String())
    action = fields.String(validate=validate.OneOf(["deploy", "rollback"]))
    rolled_back = fields.String()


class DeploymentsSchema(Schema):
    """The running version and every deploy and rollback so far."""

    current = fields.Nested(DeploymentSchema)
    history = fields.List(fields.Nested(DeploymentSchema))


class DeployedSchema(Schema):
    """What a deployment replaced."""

    current = fields.Nested(DeploymentSchema)
    previous = fields.Nested(DeploymentSchema)


class RolledBackSchema(Schema):
    """What a rollback restored and what it undid."""

    current = fields.Nested(DeploymentSchema)
    rolled_back = fields.Nested(DeploymentSchema)


def _state(store) -> dict:
    """The deployment stack (newest last) and the log of every deploy and rollback."""
    state = store.get_demo_state(STATE_KEY) or {}
    return {"stack": state.get("stack", []), "history": state.get("history", [])}


def current_build(store, config) -> dict:
    """The version and commit running now: the newest deployment, else the started one."""
    stack = _state(store)["stack"]
    return stack[-1] if stack else base_build(config)


def _view(entry: dict) -> dict:
    """A deployment as the API shows it."""
    return {**entry, "deployed_at": iso(entry["deployed_at"]) if entry.get("deployed_at") else None}


@bp.get("")
@bp.response(200, DeploymentsSchema())
def list_deployments():
    """The running version and every deploy and rollback so far."""
    store = get_store()
    state = _state(store)
    return {"current": _view(current_build(store, current_app.config)),
            "history": [_view(e) for e in state["history"]]}


@bp.post("")
@bp.admin
@bp.arguments(DeployRequestSchema())
@bp.response(201, DeployedSchema())
@bp.alt_response(400, schema=ErrorSchema)
@bp.alt_response(404, schema=ErrorSchema)
def deploy(body):
    """Record a deployment (admin); the faults it names are switched to their variants."""
    version, commit, wanted = body["version"], body["commit"], body["faults"] or {}
    store = get_store()
    for name, variant in wanted.items():
        faults.check_variant(name, variant)
    previous = current_build(store, current_app.config)
    faults.set_faults(store, wanted)
    entry = {"version": version, "commit": commit, "deployed_at": time.time(), "faults": wanted}
    state = _state(store)
    state["stack"].append(entry)
    state["history"].append({**entry, "action": "deploy"})
    store.set_demo_state(STATE_KEY, state)
    log_event("deployment", f"deployed {version} ({commit})", action="deploy",
              version=version, commit=commit, previous_version=previous["version"], faults=wanted)
    return {"current": _view(entry), "previous": _view(previous)}


@bp.post("/rollback")
@bp.admin
@bp.response(200, RolledBackSchema())
@bp.alt_response(409, schema=ErrorSchema)
def rollback():
    """Go back to the previous version (admin); the faults the newest deployment brought go off."""
    store = get_store()
    state = _state(store)
    if not state["stack"]:
        abort(409, "Nothing to roll back: the server still runs the version it started with. "
                   "Deploy one first with POST /api/deployments.")
    undone = state["stack"].pop()
    faults.set_faults(store, {name: "off" for name in undone.get("faults", {})})
    restored = state["stack"][-1] if state["stack"] else base_build(current_app.config)
    state["history"].append({"version": restored["version"], "commit": restored["commit"],
                             "deployed_at": time.time(), "faults": {}, "action": "rollback",
                             "rolled_back": undone["version"]})
    store.set_demo_state(STATE_KEY, state)
    log_event("deployment", f"rolled back {undone['version']} to {restored['version']}",
              action="rollback", version=restored["version"], commit=restored["commit"],
              previous_version=undone["version"])
    return {"current": _view(restored), "rolled_back": _view(undone)}
