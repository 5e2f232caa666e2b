"""Incidents: one record per alert and subject, its timeline, the investigation report, its pages."""
from __future__ import annotations

import re
import time
from datetime import datetime

from flask import Blueprint as PageBlueprint
from flask import Response, abort, g, render_template, session
from marshmallow import Schema, ValidationError, fields, validate

from license_server import incident_report, incident_tracking
from license_server.db import get_store
from license_server.logs import log_event
from license_server.openapi import Blueprint
from license_server.schemas import ErrorSchema, LenientSchema, literal

# The JSON API is documented in /openapi.json; the HTML pages are plain Flask routes.
api_bp = Blueprint("incidents_api", __name__, url_prefix="/api/incidents",
                   description="Incidents: one record per alert and subject, with its timeline and reports.")
bp = PageBlueprint("incidents", __name__)

# The timeline's event kinds, in the order an incident normally goes through them.
EVENT_KINDS = ("problem_started", "alert_received", "investigation_done", "alert_resolved", "action_approved",
               "action_declined", "action_applied", "alert_refired", "verified", "team_notified", "resolved",
               "note")
SEVERITIES = ("critical", "warning", "info")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/+:@-]{0,119}$")
EXAMPLE = '{"alert": "HighOverageRate", "tool": "ETAS - INCA"}'
SEVERITY_ERROR = f"Must be one of: {', '.join(SEVERITIES)}."
KIND_ERROR = f"Each event needs a kind among: {', '.join(EVENT_KINDS)}."
DETAIL_ERROR = "An event's detail must be text of at most 2000 characters."
EVENTS_ERROR = "Must be a list of at most 50 events."
REPORT_ERROR = 'Must be an object with a "markdown" text (at most 200 KB).'


class Text(fields.String):
    """Optional text of bounded length; "" counts as not sent."""

    def __init__(self, limit: int = 120, **kwargs):
        error = f"Must be text of at most {limit} characters."
        if not kwargs.get("required"):
            kwargs.update(load_default=None, allow_none=True)
        extra = kwargs.pop("validate", [])
        kwargs["validate"] = [validate.Length(max=limit, error=error), *(extra if isinstance(extra, list) else [extra])]
        kwargs["error_messages"] = {"invalid": error, **kwargs.get("error_messages", {})}
        super().__init__(**kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        """Treat "" like a missing value."""
        return super().deserialize(None if value == "" else value, attr, data, **kwargs)


class Time(fields.Field):
    """An event time: epoch seconds or ISO 8601, loaded as epoch seconds; null means now."""

    default_error_messages = {"invalid": 'Must be epoch seconds or ISO 8601 time, e.g. "2026-11-23T10:00:00Z".'}

    def __init__(self, **kwargs):
        super().__init__(load_default=None, allow_none=True,
                         metadata={"description": "Epoch seconds or ISO 8601 time."}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> float:
        """Numbers above 0 are epoch seconds; anything else must parse as ISO 8601."""
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise self.make_error("invalid") from exc


class IncidentRequestSchema(LenientSchema):
    """POST /api/incidents."""

    error_messages = {"type": f"Send a JSON object, e.g. {EXAMPLE}."}
    alert = Text(required=True,
                 validate=validate.Regexp(NAME_RE, error="Must be an alert name such as HighOverageRate."),
                 error_messages=dict.fromkeys(("required", "null"), literal(f'Send "alert", e.g. {EXAMPLE}.')))
    severity = Text(validate=validate.OneOf(SEVERITIES, error=SEVERITY_ERROR))
    tool = Text()
    user = Text()
    team = Text()
    summary = Text(limit=500)
    problem_started_at = Time()
    alert_received_at = Time()


class EventRequestSchema(LenientSchema):
    """One timeline event to append; "at" defaults to now and "by" to the actor."""

    error_messages = {"type": KIND_ERROR}
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS, error=KIND_ERROR),
                         error_messages={"required": KIND_ERROR, "null": KIND_ERROR, "invalid": KIND_ERROR})
    at = Time()
    detail = fields.String(load_default="", validate=validate.Length(max=2000, error=DETAIL_ERROR),
                           error_messages={"null": DETAIL_ERROR, "invalid": DETAIL_ERROR})
    by = Text(limit=80)


def _check_report(report: dict) -> None:
    """A report carries its Markdown as text and stays below 200 KB."""
    if not isinstance(report.get("markdown", ""), str) or len(str(report)) > 200_000:
        raise ValidationError(REPORT_ERROR)


class IncidentUpdateSchema(LenientSchema):
    """PATCH /api/incidents/<id>."""

    error_messages = {"type": 'Send {"events": [{"kind": "resolved"}]} and/or {"report": {"markdown": "..."}}.'}
    events = fields.List(fields.Nested(EventRequestSchema), load_default=list,
                         validate=validate.Length(max=50, error=EVENTS_ERROR),
                         error_messages={"null": EVENTS_ERROR, "invalid": EVENTS_ERROR})
    report = fields.Dict(keys=fields.String(), load_default=None, allow_none=True, validate=_check_report,
                         error_messages={"invalid": REPORT_ERROR})
    severity = Text(validate=validate.OneOf(SEVERITIES, error=SEVERITY_ERROR))


class IncidentQuerySchema(Schema):
    """Filter of GET /api/incidents."""

    status = Text(validate=validate.OneOf(["open", "resolved"], error="Must be open or resolved."))


class EventSchema(Schema):
    """A timeline event."""

    kind = fields.String(validate=validate.OneOf(EVENT_KINDS))
    at = fields.String(allow_none=True)
    detail = fields.String()
    by = fields.String()


class DurationsSchema(Schema):
    """Seconds from problem to alert (detect) and from alert, or opening, to resolution."""

    to_detect_seconds = fields.Float(allow_none=True)
    to_resolve_seconds = fields.Float(allow_none=True)


class ComparisonRowSchema(Schema):
    """One step of the loop: measured here, beside the automotive path of the demo guide."""

    step = fields.String()
    measured_seconds = fields.Float(allow_none=True)
    automotive = fields.String()


class IncidentSchema(Schema):
    """An incident with its timeline, durations and the investigation reports (last 10)."""

    id = fields.String()
    alert = fields.String()
    alerts = fields.List(fields.String(), metadata={"description": "The alert that opened it, then those that "
                                                                   "joined it (same tool)."})
    tool = fields.String(allow_none=True)
    user = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))
    summary = fields.String()
    opened_at = fields.String()
    timeline = fields.List(fields.Nested(EventSchema))
    reports = fields.List(fields.Dict(), metadata={"description": 'Each with "markdown" and "at".'})
    durations = fields.Nested(DurationsSchema)
    comparison = fields.List(fields.Nested(ComparisonRowSchema))
    approvals = fields.List(fields.Dict(), metadata={"description": "Proposals approved on the incident page: "
                                                                    "action, by, at, applied, result."})


@api_bp.post("")
@api_bp.admin
@api_bp.arguments(IncidentRequestSchema())
@api_bp.response(201, IncidentSchema())
@api_bp.alt_response(200, schema=IncidentSchema,
                     description="An open incident with the same alert, tool and user, updated.")
@api_bp.alt_response(400, schema=ErrorSchema)
def create(body):
    """Open an incident (admin), or return the open one of the same tool (without a tool: of the
    same alert and user)."""
    alert, tool, user = body["alert"], body["tool"], body["user"]
    now = time.time()
    record = {"alert": alert, "tool": tool, "user": user, "team": body["team"],
              "severity": body["severity"] or "warning", "summary": body["summary"] or "", "status": "open",
              "opened_at": now, "timeline": [], "reports": []}
    for kind in ("problem_started", "alert_received"):
        if body[f"{kind}_at"]:
            record["timeline"].append({"kind": kind, "at": body[f"{kind}_at"], "detail": "", "by": g.actor})
    store = get_store()
    # An incident the alert itself opened (no user) is the one to join, whoever is named.
    opened = incident_tracking.find_open(store, alert, tool, user)
    if opened is not None:
        record, created = opened, False
    else:
        record, created = store.create_incident(record, incident_tracking.match_key(alert, tool, user), now)
    if not created:
        record = store.update_incident(record["id"], lambda found: _refresh(found, body, g.actor))
    if created:
        log_event("incident", f"incident {record['id']} opened for {alert}", incident=record["id"],
                  alertname=alert, tool=tool, user=user, action="opened")
    return incident_report.view(record), 201 if created else 200


def _refresh(record: dict, body: dict, actor: str) -> dict:
    """A repeated investigation: newer summary and severity, and alert times the first one lacked."""
    for kind in ("problem_started", "alert_received"):
        at = body[f"{kind}_at"]
        if at and not any(e["kind"] == kind for e in record["timeline"]):
            record["timeline"] = sorted(record["timeline"] + [{"kind": kind, "at": at, "detail": "", "by": actor}],
                                        key=lambda e: e["at"])
    record["summary"] = body["summary"] or record.get("summary", "")
    record["severity"] = body["severity"] or record["severity"]
    return record


@api_bp.get("")
@api_bp.arguments(IncidentQuerySchema(), location="query")
@api_bp.response(200, IncidentSchema(many=True))
@api_bp.alt_response(400, schema=ErrorSchema)
def list_all(query):
    """Incidents, newest first (?status=open or resolved)."""
    return [incident_report.view(r) for r in get_store().list_incidents(query.get("status"))]


def _get(incident_id: str) -> dict:
    """The incident or a 404 that says where to look."""
    record = get_store().get_incident(incident_id)
    if record is None:
        abort(404, f"No incident {incident_id!r}; GET /api/incidents lists them.")
    return record


@api_bp.get("/<incident_id>")
@api_bp.response(200, IncidentSchema())
@api_bp.alt_response(404, schema=ErrorSchema)
def show(incident_id: str):
    """One incident with its timeline, durations and reports."""
    return incident_report.view(_get(incident_id))


@api_bp.patch("/<incident_id>")
@api_bp.admin
@api_bp.arguments(IncidentUpdateSchema())
@api_bp.response(200, IncidentSchema())
@api_bp.alt_response(400, schema=ErrorSchema)
@api_bp.alt_response(404, schema=ErrorSchema)
def update(body, incident_id: str):
    """Append timeline events (resolved closes the incident), attach a report, change the severity (admin)."""
    events = [{"kind": e["kind"], "at": e["at"] or time.time(), "detail": e["detail"], "by": e["by"] or g.actor}
              for e in body["events"]]
    report, severity = body["report"], body["severity"]
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
    return incident_report.view(record)


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
    from license_server import approvals
    record = _get(incident_id)
    return render_template("incidents/show.html", incident=incident_report.view(record),
                           proposals=approvals.proposals(record), approved=approvals.approvals(record),
                           admin=bool(session.get("admin")), seconds=incident_report.seconds,
                           step_time=incident_report.step_time)
