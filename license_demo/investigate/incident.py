"""The investigator's side of an incident on the server: open (or join) it, report timeline
events, attach the report. The server alone resolves it (license_server/incident_rule.py); each
answer carries its `state` and what it still waits for (`waiting_for`)."""
from __future__ import annotations

from urllib.parse import quote

from license_demo.clients import DemoError, ServerClient


class IncidentRecorder:
    """Keeps one incident up to date; a server without the API (or down) only adds a note."""

    def __init__(self, server: ServerClient, notes: list[str]):
        """Record through `server`; problems go to `notes`."""
        self.server, self.notes = server, notes
        self.incident: dict | None = None

    @property
    def id(self) -> str | None:
        """The incident id, once opened."""
        return self.incident["id"] if self.incident else None

    def open(self, alert: str, severity: str, tool: str | None, user: str | None, team: str | None,
             summary: str, problem_started_at: float | None, alert_received_at: float | None) -> dict | None:
        """Create the incident, or get the open one for the same alert, tool and user."""
        body = {"alert": alert, "severity": severity, "tool": tool, "user": user, "team": team,
                "summary": summary[:500], "problem_started_at": problem_started_at,
                "alert_received_at": alert_received_at}
        try:
            self.incident = self.server.call("POST", "/api/incidents", admin=True,
                                             json={k: v for k, v in body.items() if v is not None}).json()
        except DemoError as exc:
            self.notes.append(f"incident not recorded on the server: {exc}")
        return self.incident

    def event(self, kind: str, detail: str = "", by: str | None = None, report: dict | None = None) -> None:
        """Report one timeline event (and optionally a report); keep the server's answer."""
        if not self.incident:
            return
        body = {"events": [{"kind": kind, "detail": detail[:2000], **({"by": by[:80]} if by else {})}]}
        if report is not None:
            body["report"] = report
        try:
            self.incident = self.server.call("PATCH", f"/api/incidents/{quote(self.id, safe='')}",
                                             json=body, admin=True).json()
        except DemoError as exc:
            self.notes.append(f"incident {self.id} not updated ({kind}): {exc}")

    def url(self) -> str | None:
        """The incident's page on the server."""
        return f"{self.server.url.rstrip('/')}/incidents/{self.id}" if self.id else None
