"""Deployments for the demo: record a new version (optionally with faults) and roll back to the last."""
from __future__ import annotations

import re
import time

from flask import Blueprint, abort, current_app, jsonify, request

from license_server import demo_support, faults

bp = Blueprint("deployments", __name__)
STATE_KEY = "deployments"
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,39}$")


def base_build(config) -> dict:
    """The version the server process was started with."""
    return {"version": config.get("APP_VERSION") or "unknown",
            "commit": config.get("GIT_COMMIT") or "unknown", "deployed_at": None, "faults": {}}


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
    return {**entry, "deployed_at": demo_support.iso(entry["deployed_at"]) if entry.get("deployed_at") else None}


@bp.get("/api/deployments")
def list_deployments():
    """The running version and every deploy and rollback so far."""
    store = demo_support.get_store()
    state = _state(store)
    return jsonify({"current": _view(current_build(store, current_app.config)),
                    "history": [_view(e) for e in state["history"]]})


@bp.post("/api/deployments")
def deploy():
    """Record a deployment (admin): {"version", "commit", "faults"?: {name: variant}}."""
    demo_support.require_admin()
    body = request.get_json(silent=True) or {}
    version, commit = body.get("version"), body.get("commit")
    wanted = body.get("faults") or {}
    if not (isinstance(version, str) and VERSION_RE.match(version)
            and isinstance(commit, str) and VERSION_RE.match(commit)):
        abort(400, 'Send {"version": "1.5.0", "commit": "a1b2c3d"}: letters, digits and . _ + -, '
                   "at most 40 characters each.")
    if not isinstance(wanted, dict) or not all(isinstance(v, str) for v in wanted.values()):
        abort(400, 'faults must map fault names to variants, e.g. {"borrow_errors": "50pct"}.')
    store = demo_support.get_store()
    for name, variant in wanted.items():
        faults.check_variant(name, variant)
    previous = current_build(store, current_app.config)
    faults.set_faults(store, wanted)
    entry = {"version": version, "commit": commit, "deployed_at": time.time(), "faults": wanted}
    state = _state(store)
    state["stack"].append(entry)
    state["history"].append({**entry, "action": "deploy"})
    store.set_demo_state(STATE_KEY, state)
    demo_support.log_event("deployment", f"deployed {version} ({commit})", action="deploy",
                           version=version, commit=commit, previous_version=previous["version"],
                           faults=wanted)
    return jsonify({"current": _view(entry), "previous": _view(previous)}), 201


@bp.post("/api/deployments/rollback")
def rollback():
    """Go back to the previous version (admin); the faults the newest deployment brought go off."""
    demo_support.require_admin()
    store = demo_support.get_store()
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
    demo_support.log_event("deployment", f"rolled back {undone['version']} to {restored['version']}",
                           action="rollback", version=restored["version"],
                           commit=restored["commit"], previous_version=undone["version"])
    return jsonify({"current": _view(restored), "rolled_back": _view(undone)})
