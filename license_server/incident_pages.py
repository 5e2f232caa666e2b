"""The incident pages: /incidents, /incidents/<id> (timeline, what the server waits for,
proposals to approve) and the Markdown post-incident report."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, session

from license_server import approvals, incident_report, incident_rule
from license_server.db import get_store
from license_server.incident_api import get_or_404

bp = Blueprint("incidents", __name__)


@bp.get("/incidents")
def page_list():
    """The incidents page: every incident with its status and durations."""
    return render_template("incidents/list.html",
                           incidents=[incident_report.view(r) for r in get_store().list_incidents()])


@bp.get("/incidents/<incident_id>.md")
def export_markdown(incident_id: str):
    """The post-incident report as Markdown, for a wiki page or a ticket."""
    text = incident_report.markdown(incident_report.view(get_or_404(incident_id)))
    return Response(text, mimetype="text/markdown",
                    headers={"Content-Disposition": f'inline; filename="{incident_id}.md"'})


@bp.get("/incidents/<incident_id>")
def page_show(incident_id: str):
    """One incident: its timeline, what the server waits for, durations and the investigation report."""
    record = get_or_404(incident_id)
    waiting = incident_rule.waiting_for(get_store(), record, current_app.extensions["incident_policy"])
    return render_template("incidents/show.html", incident=incident_report.view(record), waiting_for=waiting,
                           proposals=approvals.proposals(record), approved=approvals.approvals(record),
                           admin=bool(session.get("admin")), seconds=incident_report.seconds,
                           step_time=incident_report.step_time)
