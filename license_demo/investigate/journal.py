"""One journal of what people and the investigator did: each step goes to the audit log and the incident.

Approvals, declines, applied changes and verifications are written here only, so the audit file
and the incident's timeline cannot tell different stories.
"""
from __future__ import annotations

from license_demo.investigate.audit import AuditLog
from license_demo.investigate.incident import IncidentRecorder

# The incident timeline kind of each audit event (None: audit log only).
TIMELINE_KIND = {"approved": "action_approved", "declined": "action_declined", "applied": "action_applied",
                 "notified": "team_notified", "verified": "verified", "not_verified": "note", "failed": "note"}


class Journal:
    """Writes each step of one action to the audit log and to the incident's timeline."""

    def __init__(self, log: AuditLog, incident: IncidentRecorder, **details):
        """Record to `log` and `incident`; `details` (alert, request) go on every audit line."""
        self.log, self.incident, self.details = log, incident, details

    def record(self, event: str, who: str, what: str, result: str, timeline: bool = True) -> dict:
        """One step: an audit line, and (when `timeline`) the matching event on the incident."""
        line = self.log.write("applied" if event == "notified" else event, who, what, result,
                              incident=self.incident.id, **self.details)
        kind = TIMELINE_KIND.get(event)
        if timeline and kind:
            self.incident.event(kind, f"{what}: {result}" if result and result != event else what, by=who)
        return line
