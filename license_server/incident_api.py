"""The incident API (/api/incidents): what clients report goes to the incident rule
(incident_rule.py), which alone opens, verifies, resolves and closes; each answer says
what the server still waits for. Documented in /openapi.json."""
from __future__ import annotations

import re
import time

from flask import abort, current_app, g
from marshmallow import Schema, ValidationError, fields, validate

from license_server import incident_report, incident_rule
from license_server.db import get_store
from license_server.incident_rule import CLIENT_KINDS, EVENT_KINDS, SEVERITIES, STATES, STATUSES
from license_server.logs import log_event
from license_server.openapi import Blueprint
from license_server.schemas import ErrorSchema, LenientSchema, literal
from license_server.timestamps import epoch

api_bp = Blueprint("incidents_api", __name__, url_prefix="/api/incidents",
                   description="Incidents: one record per problem, with its timeline and reports. Clients "
                               "report events; the server alone resolves an incident, once it verified the fix.")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/+:@-]{0,119}$")
EXAMPLE = '{"alert": "HighOverageRate", "tool": "ETAS - INCA"}'
SEVERITY_ERROR = f"Must be one of: {', '.join(SEVERITIES)}."
KIND_ERROR = f"Each event needs a kind among: {', '.join(CLIENT_KINDS)}."
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
            return epoch(value)
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
    kind = fields.String(required=True, validate=validate.OneOf(CLIENT_KINDS, error=KIND_ERROR),
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

    status = Text(validate=validate.OneOf(STATUSES, error=f"Must be one of: {', '.join(STATUSES)}."))


class EventSchema(Schema):
    """A timeline event."""

    kind = fields.String(validate=validate.OneOf(EVENT_KINDS))
    at = fields.String(allow_none=True)
    detail = fields.String()
    by = fields.String()
    reported = fields.Boolean(metadata={"description": "Sent by a client (PATCH), not written by the server."})


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
    status = fields.String(validate=validate.OneOf(STATUSES), metadata={
        "description": "open; resolved (the server verified the fix); closed (by a reset, nothing verified)."})
    state = fields.String(validate=validate.OneOf(STATES), metadata={
        "description": "open, fix_applied, resolved or closed: only the server's incident rule moves it."})
    waiting_for = fields.String(allow_none=True, metadata={
        "description": "What the server still needs before it resolves the incident (null once resolved or closed)."})
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
    store = get_store()
    record, created = incident_rule.open_reported(store, body, g.actor)
    return answer(store, record), 201 if created else 200


def answer(store, record: dict) -> dict:
    """The incident as the API answers it, with what the server still waits for."""
    return {**incident_report.view(record),
            "waiting_for": incident_rule.waiting_for(store, record, current_app.extensions["incident_policy"])}


@api_bp.get("")
@api_bp.arguments(IncidentQuerySchema(), location="query")
@api_bp.response(200, IncidentSchema(many=True))
@api_bp.alt_response(400, schema=ErrorSchema)
def list_all(query):
    """Incidents, newest first (?status=open, resolved or closed)."""
    store = get_store()
    return [answer(store, r) for r in store.list_incidents(query.get("status"))]


def get_or_404(incident_id: str) -> dict:
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
    return answer(get_store(), get_or_404(incident_id))


@api_bp.patch("/<incident_id>")
@api_bp.admin
@api_bp.arguments(IncidentUpdateSchema())
@api_bp.response(200, IncidentSchema())
@api_bp.alt_response(400, schema=ErrorSchema)
@api_bp.alt_response(404, schema=ErrorSchema)
def update(body, incident_id: str):
    """Report timeline events, attach a report, change the severity (admin). The server alone
    resolves: a "verified" or "resolved" sent here is recorded as the client's report
    (verification_reported, resolution_requested), and the answer's waiting_for says what
    the server still needs."""
    events = [{"kind": e["kind"], "at": e["at"] or time.time(), "detail": e["detail"], "by": e["by"] or g.actor}
              for e in body["events"]]
    report, severity = body["report"], body["severity"]
    store = get_store()
    get_or_404(incident_id)

    def change(record: dict) -> dict:
        record = incident_rule.add_reported(record, events)
        if report is not None:
            record["reports"] = (record.get("reports", []) + [{**report, "at": time.time()}])[-10:]
        if severity:
            record["severity"] = severity
        return record

    record = store.update_incident(incident_id, change)
    for event in events:
        log_event("incident", f"incident {incident_id}: {event['kind']} reported by {event['by']}",
                  incident=incident_id, action=incident_rule.REPORTED_AS.get(event["kind"], event["kind"]),
                  alertname=record["alert"], tool=record.get("tool"))
    # A reported fix or verification may be what the rule waited for.
    if incident_rule.evaluate(store, record, current_app.extensions["incident_policy"]):
        record = store.get_incident(incident_id)
    return answer(store, record)
