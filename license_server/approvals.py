"""Approving an investigation's proposal on its /incidents page (admin login and CSRF as on /config).

The proposals are the `actions` of the incident's latest report that has them (what the
investigator attaches: id, title, why, risk, and the admin `request` it would make).
Approving one applies it here: a config change through config_changes.apply (so it is
logged, counted and put on the timeline like any other), a force-return through
admin_actions, a rollback through the deployments API; a notification is recorded as
prepared. The approval and what was applied go on the timeline and in the log.
"""
from __future__ import annotations

import time
from urllib.parse import unquote

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from marshmallow import ValidationError

from license_server import admin_actions, config_changes, errors, pages, story_store
from license_server.db import get_store
from license_server.logs import log_event
from license_server.schemas import ToolUpdateSchema

bp = Blueprint("approvals", __name__)
CONFIG_PREFIX = "/api/config/tools/"


def proposals(record: dict) -> list[dict]:
    """The actions of the latest report that carries any (newest investigation wins)."""
    for report in reversed(record.get("reports", [])):
        actions = report.get("actions") or report.get("proposals")
        if isinstance(actions, list) and actions:
            return [a for a in actions if isinstance(a, dict) and a.get("id")]
    return []


def approvals(record: dict) -> dict[str, dict]:
    """Approved action ids with who approved them, when, and what applying did."""
    return {a["action"]: a for a in record.get("approvals", [])}


@bp.post("/incidents/<incident_id>/approve")
def approve(incident_id: str):
    """Apply the chosen proposal of an open incident and record the approval."""
    pages.check_csrf(f"/incidents/{incident_id}")
    store = get_store()
    record = store.get_incident(incident_id)
    if record is None:
        abort(404, f"No incident {incident_id!r}; /incidents lists them.")
    back = redirect(url_for("incidents.page_show", incident_id=incident_id))
    if record["status"] != "open":
        flash(f"{incident_id} is {record['status']}: nothing to approve on it any more.")
        return back
    if not session.get("admin"):
        flash("Log in on /config with the admin token first, then approve here.")
        return back, 303
    action_id = request.form.get("action", "")
    action = next((a for a in proposals(record) if a["id"] == action_id), None)
    if action is None:
        abort(400, f"Incident {incident_id} has no proposal {action_id!r}. Reload the page and pick one of its proposals.")
    if action_id in approvals(record):
        flash(f"{action.get('title', action_id)} was already approved.")
        return back
    actor = session.get("actor", "admin")
    now = time.time()
    store.update_incident(incident_id, lambda r: {**r, "timeline": r["timeline"] + [
        {"kind": "action_approved", "at": now, "by": actor,
         "detail": f"{action_id}: {action.get('title', '')} (approved on the incident page)"}]})
    log_event("incident", f"incident {incident_id}: action_approved", incident=incident_id, action="action_approved",
              alertname=record["alert"], tool=record.get("tool"), actor=actor, proposal=action_id)
    applied, detail, recorded = apply(store, action, actor)
    done = time.time()

    def note(r: dict) -> dict:
        events = [] if recorded and incident_id in recorded else [
            {"kind": "action_applied" if applied else "note", "at": done, "by": actor,
             "detail": f"{action_id}: {detail}" if applied else f"{action_id} not applied: {detail}"}]
        return {**r, "timeline": r["timeline"] + events,
                "approvals": r.get("approvals", []) + [{"action": action_id, "by": actor, "at": now,
                                                        "applied": applied, "result": detail}]}
    store.update_incident(incident_id, note)
    flash(f"Approved {action.get('title', action_id)}: {detail}" if applied
          else f"Approved {action_id}, but it was not applied: {detail}")
    return back


def apply(store, action: dict, actor: str) -> tuple[bool, str, list[str]]:
    """Carry out one proposal; (applied, what happened, incidents whose timeline already has it)."""
    req = action.get("request")
    if action.get("notify") and not req:
        text = action["notify"].get("text", "") if isinstance(action["notify"], dict) else str(action["notify"])
        return True, f"message prepared for the team (send it by hand): {text}"[:1900], []
    if not isinstance(req, dict) or not isinstance(req.get("path"), str):
        return False, "a manual action: run the command it shows", []
    method, path = str(req.get("method", "")).upper(), req["path"]
    if method == "PUT" and path.startswith(CONFIG_PREFIX):
        name = unquote(path[len(CONFIG_PREFIX):])
        try:
            changes = ToolUpdateSchema().load(req.get("json") or {})
        except ValidationError as exc:
            return False, f"the proposed change is not valid: {errors.flatten(exc.messages)}", []
        if store.get_tool(name) is None:
            return False, f"there is no tool {name!r}", []
        before, after = config_changes.apply(store, name, changes, actor, source="incident page")
        summary = config_changes.describe(before, after) or "nothing to change"
        recorded = [r["id"] for r in story_store.open_incidents(store, name)] if summary else []
        return True, f"{name}: {summary}", recorded
    if method == "POST" and path.startswith("/api/users/") and path.endswith("/force-return"):
        user = unquote(path[len("/api/users/"):-len("/force-return")])
        freed = admin_actions.force_return(store, user, actor)
        return True, f"freed {len(freed)} seats of {user}" + (
            f" ({', '.join(s['id'][:8] for s in freed)})" if freed else ""), []
    if method == "POST" and path == "/api/deployments/rollback":
        # The deployments API keeps the rollback's bookkeeping; call it as the admin would.
        token = current_app.config.get("ADMIN_TOKEN") or ""
        answer = current_app.test_client().post(path, headers={"Authorization": f"Bearer {token}", "X-Actor": actor})
        body = answer.get_json(silent=True) or {}
        if answer.status_code != 200:
            return False, body.get("detail", f"the rollback answered {answer.status_code}"), []
        return True, f"rolled back {body['rolled_back']['version']} to {body['current']['version']}", []
    return False, f"{method} {path} cannot be applied from the page; use the command it shows", []
