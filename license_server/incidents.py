"""Incidents: one record per alert and subject, its timeline, the investigation report, its pages."""
from __future__ import annotations

import re
import time

from flask import Blueprint, Response, abort, jsonify, render_template, request

from license_server import incident_report
from license_server.auth import check_admin
from license_server.db import get_store
from license_server.logs import log_event

bp = Blueprint("incidents", __name__)

# The timeline's event kinds, in the order an incident normally goes through them.
EVENT_KINDS = ("problem_started", "alert_received", "investigation_done", "action_approved",
               "action_declined", "action_applied", "verified", "team_notified", "resolved", "note")
SEVERITIES = ("critical", "warning", "info")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/+:@-]{0,119}$")


def _text(body: dict, key: str, required: bool = False, limit: int = 120) -> str | None:
    """A bounded text field of the body, or a 400 that says what to send."""
    value = body.get(key)
    if value is None or value == "":
        if required:
            abort(400, f'Send "{key}", e.g. {{"alert": "HighOverageRate", "tool": "ETAS - INCA"}}.')
        return None
    if not isinstance(value, str) or len(value) > limit:
        abort(400, f'"{key}" must be text of at most {limit} characters.')
    return value


def _time(value, key: str) -> float | None:
    """An event time: epoch seconds or ISO 8601; None means now."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    try:
        from datetime import datetime
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        abort(400, f'"{key}" must be epoch seconds or ISO 8601 time, e.g. "2026-11-23T10:00:00Z".')


def _event(raw, default_by: str) -> dict:
    """A validated timeline event {"kind", "at", "detail", "by"}."""
    if not isinstance(raw, dict) or raw.get("kind") not in EVENT_KINDS:
        abort(400, f"Each event needs a kind among: {', '.join(EVENT_KINDS)}.")
    detail = raw.get("detail", "")
    if not isinstance(detail, str) or len(detail) > 2000:
        abort(400, "An event's detail must be text of at most 2000 characters.")
    return {"kind": raw["kind"], "at": _time(raw.get("at"), "at") or time.time(),
            "detail": detail, "by": _text(raw, "by", limit=80) or default_by}


@bp.post("/api/incidents")
def create():
    """Open an incident (admin), or return the open one for the same alert, tool and user."""
    actor = check_admin()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, 'Send a JSON object, e.g. {"alert": "HighOverageRate", "tool": "ETAS - INCA"}.')
    alert = _text(body, "alert", required=True)
    if not NAME_RE.match(alert):
        abort(400, '"alert" must be an alert name such as HighOverageRate.')
    severity = _text(body, "severity") or "warning"
    if severity not in SEVERITIES:
        abort(400, f'"severity" must be one of: {", ".join(SEVERITIES)}.')
    tool, user, team = _text(body, "tool"), _text(body, "user"), _text(body, "team")
    now = time.time()
    record = {"alert": alert, "tool": tool, "user": user, "team": team, "severity": severity,
              "summary": _text(body, "summary", limit=500) or "", "status": "open",
              "opened_at": now, "timeline": [], "reports": []}
    for kind in ("problem_started", "alert_received"):
        at = _time(body.get(f"{kind}_at"), f"{kind}_at")
        if at:
            record["timeline"].append({"kind": kind, "at": at, "detail": "", "by": actor})
    store = get_store()
    record, created = store.create_incident(record, "|".join([alert, tool or "", user or ""]), now)
    if not created:
        record = store.update_incident(record["id"], lambda found: _refresh(found, body, actor))
    if created:
        log_event("incident", f"incident {record['id']} opened for {alert}", incident=record["id"],
                  alertname=alert, tool=tool, user=user, action="opened")
    return jsonify(incident_report.view(record)), 201 if created else 200


def _refresh(record: dict, body: dict, actor: str) -> dict:
    """A repeated investigation: newer summary and severity, and alert times the first one lacked."""
    for kind in ("problem_started", "alert_received"):
        at = _time(body.get(f"{kind}_at"), f"{kind}_at")
        if at and not any(e["kind"] == kind for e in record["timeline"]):
            record["timeline"] = sorted(record["timeline"] + [{"kind": kind, "at": at, "detail": "", "by": actor}],
                                        key=lambda e: e["at"])
    record["summary"] = _text(body, "summary", limit=500) or record.get("summary", "")
    record["severity"] = body.get("severity") or record["severity"]
    return record


@bp.get("/api/incidents")
def list_all():
    """Incidents, newest first (?status=open or resolved)."""
    status = request.args.get("status")
    if status not in (None, "", "open", "resolved"):
        abort(400, "status must be open or resolved.")
    return jsonify([incident_report.view(r) for r in get_store().list_incidents(status or None)])


def _get(incident_id: str) -> dict:
    """The incident or a 404 that says where to look."""
    record = get_store().get_incident(incident_id)
    if record is None:
        abort(404, f"No incident {incident_id!r}; GET /api/incidents lists them.")
    return record


@bp.get("/api/incidents/<incident_id>")
def show(incident_id: str):
    """One incident with its timeline, durations and reports."""
    return jsonify(incident_report.view(_get(incident_id)))


@bp.patch("/api/incidents/<incident_id>")
def update(incident_id: str):
    """Append timeline events and attach a report (admin): {"events": [...], "report": {...}}."""
    actor = check_admin()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, 'Send {"events": [{"kind": "resolved"}]} and/or {"report": {"markdown": "..."}}.')
    events = body.get("events", [])
    if not isinstance(events, list) or len(events) > 50:
        abort(400, '"events" must be a list of at most 50 events.')
    events = [_event(e, actor) for e in events]
    report = body.get("report")
    if report is not None and (not isinstance(report, dict) or not isinstance(report.get("markdown", ""), str)
                               or len(str(report)) > 200_000):
        abort(400, '"report" must be an object with a "markdown" text (at most 200 KB).')
    severity = _text(body, "severity")
    if severity and severity not in SEVERITIES:
        abort(400, f'"severity" must be one of: {", ".join(SEVERITIES)}.')
    _get(incident_id)

    def change(record: dict) -> dict:
        record["timeline"] = sorted(record["timeline"] + events, key=lambda e: e["at"])
        if report is not None:
            record["reports"] = (record.get("reports", []) + [{**report, "at": time.time()}])[-10:]
        if severity:
            record["severity"] = severity
        if any(e["kind"] == "resolved" for e in events):
            record["status"] = "resolved"
        return record

    record = get_store().update_incident(incident_id, change)
    for event in events:
        log_event("incident", f"incident {incident_id}: {event['kind']}", incident=incident_id,
                  action=event["kind"], alertname=record["alert"], tool=record.get("tool"))
    return jsonify(incident_report.view(record))


@bp.get("/incidents")
def page_list():
    """The incidents page: every incident with its status and durations."""
    return render_template("incidents/list.html",
                           incidents=[incident_report.view(r) for r in get_store().list_incidents()])


@bp.get("/incidents/<incident_id>.md")
def export_markdown(incident_id: str):
    """The post-incident report as Markdown, for a wiki page or a ticket."""
    text = incident_report.markdown(incident_report.view(_get(incident_id)))
    return Response(text, mimetype="text/markdown",
                    headers={"Content-Disposition": f'inline; filename="{incident_id}.md"'})


@bp.get("/incidents/<incident_id>")
def page_show(incident_id: str):
    """One incident: its timeline, durations and the investigation report."""
    return render_template("incidents/show.html", incident=incident_report.view(_get(incident_id)))
