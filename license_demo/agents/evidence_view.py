"""The one door from the agent-facing code to the investigator.

The MCP tools and the evaluation read the investigator only through this module: its gatherers
(`gather.GATHERERS`, run by `gather.gather`), the `Fact` objects they record, `investigation.run`
and the remediation path of `--approve`. Nothing here recomputes a fact: each answer is picked
from what the gatherers recorded, or read through `license_demo.clients`.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import rule_source
from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.investigate import audit, contacts, gather, investigation, remediation, subject
from license_demo.investigate.evidence import Fact, Settings, Sources
from license_demo.investigate.incident import IncidentRecorder


@dataclass
class StackConfig:
    """Where the stack's parts are, and what the agent-facing code may do to them."""

    server_url: str
    admin_token: str | None
    prometheus_url: str
    alertmanager_url: str | None = None
    loki_url: str | None = None
    rules_file: str | None = None
    contacts_file: str | None = None
    audit_log: str = audit.DEFAULT_PATH
    notify_webhook: str | None = None

    def sources(self) -> Sources:
        """The investigator's API clients for this stack (never asks at a terminal)."""
        return Sources(server=ServerClient(self.server_url, self.admin_token),
                       prometheus=PrometheusClient(self.prometheus_url),
                       alertmanager=AlertmanagerClient(self.alertmanager_url) if self.alertmanager_url else None,
                       loki_url=self.loki_url or None)

    def settings(self, window: int) -> Settings:
        """The investigator's windows, with the hoarding threshold of the rules' source."""
        hoarding = int(rule_source.load(self.rules_file).threshold("SingleUserHoarding"))
        return Settings(window=window, hoarding_seats=hoarding, rules_file=self.rules_file)


@dataclass
class Gathered:
    """The facts of one gathering, by key, with its notes and instant."""

    at: float
    since_reset: float | None
    facts: dict[str, Fact]
    notes: list[str]

    def value(self, key: str, default=None):
        """The value of fact `key`, or `default` when it was not gathered."""
        fact = self.facts.get(key)
        return default if fact is None else fact.value

    def pick(self, *keys: str) -> list[dict]:
        """The named facts that were gathered, as JSON-ready data."""
        return [self.facts[k].to_dict() for k in keys if k in self.facts]

    def per_tool(self, key: str, tool: str):
        """One tool's value in a per-tool table fact (rows of {tool, value}); 0 when absent."""
        return next((r["value"] for r in self.value(key, []) or [] if r.get("tool") == tool), 0)


def known_names(cfg: StackConfig) -> tuple[list[str], list[str], list[str]]:
    """Tools, users and teams as the investigator knows them."""
    return investigation.known_names(cfg.sources())


def gather_facts(cfg: StackConfig, window: int, text: str = "", tool: str | None = None,
                 user: str | None = None) -> Gathered:
    """Run every gatherer once for this subject, at one instant."""
    sources = cfg.sources()
    tools, users, teams = investigation.known_names(sources)
    subj = subject.parse(text, tools, users, teams, tool=tool, user=user)
    ev = gather.gather(sources, subj, cfg.settings(window))
    return Gathered(ev.at, ev.settings.since, dict(ev.facts), list(ev.notes) + list(subj.notes))


def investigate(cfg: StackConfig, text: str, window: int, alert: str | None = None, tool: str | None = None,
                user: str | None = None, record_incident: bool = False) -> investigation.Investigation:
    """The built-in investigator's whole answer (incident filed only when `record_incident`)."""
    req = investigation.Request(text=text, alert=alert, tool=tool, user=user, settings=cfg.settings(window),
                                record_incident=record_incident)
    return investigation.run(cfg.sources(), req, contacts.load(cfg.contacts_file))


def apply_proposal(cfg: StackConfig, incident: dict, action_id: str, approver: str, window: int,
                   verify_seconds: float) -> dict:
    """Apply one proposal of an open incident exactly as `investigate --approve ID --approver NAME` does.

    The investigation is rerun on the incident's alert, tool and user (the proposal is sized on the
    facts of now, as at the terminal), and the approval, the call and the verification go through
    `remediation.approve_and_apply`: the audit log and the incident's timeline, one journal.
    """
    alert = incident.get("alert")
    alert = None if alert == investigation.MANUAL_ALERT else alert
    tool, user = incident.get("tool"), incident.get("user")
    # The incident's own labels say what it is about; its summary only when it has none.
    text = "" if (alert or tool or user) else incident.get("summary") or ""
    inv = investigate(cfg, text, window, alert=alert, tool=tool, user=user)
    offered = [a.id for a in inv.actions]
    if action_id not in offered:
        return {"status": "not_proposed", "action": action_id, "proposed": offered}
    # The journal writes on the incident the caller named, not on whichever the rerun would pick.
    inv.incident = IncidentRecorder(inv.incident.server, inv.result["notes"])
    inv.incident.incident = incident
    args = argparse.Namespace(approve=action_id, action=None, approver=approver, notify_webhook=cfg.notify_webhook,
                              verify_timeout=verify_seconds)
    outcome = remediation.approve_and_apply(args, cfg.sources(), inv, audit.AuditLog(cfg.audit_log))
    return {**(outcome or {}), "proposed": offered}


def add_note(cfg: StackConfig, incident: dict, text: str, author: str) -> dict:
    """A note on the incident's timeline and in the audit log, by `author`."""
    recorder = IncidentRecorder(ServerClient(cfg.server_url, cfg.admin_token), [])
    recorder.incident = incident
    entry = remediation.Journal(audit.AuditLog(cfg.audit_log), recorder)
    line = entry.record("noted", author, text, "note added", timeline=False)
    recorder.event("note", text, by=author)
    if recorder.notes:
        raise DemoError(recorder.notes[0])
    return line
