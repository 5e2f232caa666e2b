"""Remediation: ask for approval, carry out the approved action through the admin API, verify that it worked.

Every step (approved, declined, applied, verified) is written by one `Journal` to both the audit
log and the incident's timeline, so the two cannot tell different stories.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import requests

from license_demo import alert_wait
from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.investigate import audit
from license_demo.investigate.actions import Action
from license_demo.investigate.incident import IncidentRecorder

APPROVAL_WORD = "yes"
OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}


@dataclass
class Outcome:
    """What applying an action did and what the verification saw."""

    applied: bool
    result: str
    verified: bool | None = None
    verification: str = ""
    seconds_to_verify: float | None = None

    def to_dict(self) -> dict:
        """The outcome as JSON-ready data."""
        return dict(self.__dict__)


def execute(action: Action, server: ServerClient, notify_url: str | None = None) -> Outcome:
    """Make the action's call (admin API, or the notification webhook); never raises for HTTP errors."""
    if action.notify is not None:
        if not notify_url:
            return Outcome(True, f"message prepared for {action.notify['channel']} (no webhook configured: "
                                 f"send it by hand): {action.notify['text']}")
        try:
            response = requests.post(notify_url, json=action.notify, timeout=10)
            response.raise_for_status()
        except requests.RequestException as exc:
            return Outcome(False, f"the notification webhook failed: {exc}")
        return Outcome(True, f"sent to {action.notify['channel']} via the webhook")
    if action.request is None:
        return Outcome(False, "manual action: run the command shown; the investigator cannot do it over HTTP")
    req = action.request
    try:
        response = server.call(req["method"], req["path"], json=req.get("json"), admin=True)
    except DemoError as exc:
        return Outcome(False, str(exc))
    return Outcome(True, f"{req['method']} {req['path']} answered {response.status_code}: {response.text[:300]}")


def verify(action: Action, outcome: Outcome, prometheus: PrometheusClient, server: ServerClient,
           alertmanager: AlertmanagerClient | None, timeout: float, progress=print) -> Outcome:
    """Wait until the metric meets its target and the alert (if firing) resolves, or `timeout` passes."""
    check = action.verify or {}
    if not outcome.applied or not check.get("expr"):
        return outcome
    started = time.monotonic()
    deadline, seen = started + timeout, None
    while time.monotonic() < deadline:
        try:
            rows = prometheus.query(check["expr"])
            seen = float(rows[0]["value"][1]) if rows else None
        except DemoError:
            seen = None
        if seen is not None and OPS[check["op"]](seen, check["value"]):
            break
        time.sleep(1)
    else:
        outcome.verified = False
        outcome.verification = (f"{check['expr']} is {seen} after {timeout:.0f}s, not yet "
                                f"{check['op']} {check['value']}")
        return outcome
    metric_note = f"{check['expr']} = {seen:g} ({check['op']} {check['value']}) after {time.monotonic() - started:.0f}s"
    alert = check.get("alert")
    if alert:
        match = {k: v for k, v in (check.get("labels") or {}).items() if v}
        try:
            progress(f"  metric recovered; waiting up to {max(deadline - time.monotonic(), 0):.0f}s "
                     f"for {alert} to resolve")
            alert_wait.wait_for(server, alertmanager, alert, False, max(deadline - time.monotonic(), 1),
                                match=match, poll=1.0)
            metric_note += f"; {alert} resolved"
        except (DemoError, requests.RequestException) as exc:
            outcome.verified = False
            outcome.verification = f"{metric_note}; but {alert} still active: {exc}"
            return outcome
    outcome.verified = True
    outcome.verification = metric_note
    outcome.seconds_to_verify = round(time.monotonic() - started, 1)
    return outcome


# The incident timeline kind of each audit event (None: audit log only). A verification is the
# investigator's report: the server resolves the incident once its own rule verifies the fix.
TIMELINE_KIND = {"approved": "action_approved", "declined": "action_declined", "applied": "action_applied",
                 "notified": "team_notified", "verified": "verification_reported", "not_verified": "note",
                 "failed": "note"}


class Journal:
    """Writes each step of one action to the audit log and to the incident's timeline."""

    def __init__(self, log: audit.AuditLog, incident: IncidentRecorder, **details):
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


def err(line: str = "") -> None:
    """Progress and prompts go to stderr so --json keeps stdout clean."""
    print(line, file=sys.stderr, flush=True)


def choose(actions: list, wanted: str | None):
    """The action to apply: the one named, else the first the investigator can carry out."""
    if wanted:
        return next((a for a in actions if a.id == wanted), None)
    return next((a for a in actions if a.request is not None or a.notify is not None), None)


def ask_approval(action) -> bool:
    """Show the action and ask a person at the terminal to type yes."""
    err(f"\nAction {action.priority}: {action.title}\n  risk: {action.risk}\n  call: {action.curl}")
    try:
        # The prompt goes to stderr: with --json, stdout carries only the result.
        print(f"Type '{APPROVAL_WORD}' to approve, anything else declines: ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
    except (EOFError, OSError):
        answer = ""
    return answer.strip().lower() == APPROVAL_WORD


def approve_and_apply(args, sources, inv, log: audit.AuditLog) -> dict | None:
    """Ask for (or take the explicit) approval, apply, verify; each step goes to the journal."""
    action = choose(inv.actions, args.approve or args.action)
    incident = inv.incident
    if action is None:
        named = args.approve or args.action
        err(f"error: no recommended action {named!r}; recommended: {', '.join(a.id for a in inv.actions) or 'none'}"
             if named else "nothing to apply: no action the investigator can carry out")
        return {"status": "not_applicable", "action": named}
    what = f"{action.id}: {action.title}"
    entry = Journal(log, incident, request=action.request, alert=inv.result["alert"])
    if args.approve:
        approver, approved = args.approver, True
        err(f"approved by {approver} with --approve {action.id}")
    elif not sys.stdin.isatty():
        err("error: approval needs a person: run this in a terminal and type yes at the prompt, "
             "or pass --approve ACTION_ID --approver NAME")
        entry.record("declined", args.approver or audit.operator(), what, "no terminal to ask for approval",
                     timeline=False)
        return {"status": "declined", "action": action.id, "reason": "no terminal"}
    else:
        approver = args.approver or audit.operator()
        approved = ask_approval(action)
    if not approved:
        entry.record("declined", approver, what, "declined at the prompt; nothing changed")
        err("declined: nothing changed")
        return {"status": "declined", "action": action.id, "approver": approver}
    entry.record("approved", approver, what, "approved")
    err(f"applying {action.id} ...")
    outcome = execute(action, sources.server, args.notify_webhook)
    err(f"  {outcome.result}")
    if not outcome.applied:
        entry.record("failed", approver, what, outcome.result)
        return {"status": "failed", "action": action.id, "approver": approver, **outcome.to_dict()}
    entry.record("notified" if action.notify else "applied", approver, what, outcome.result)
    if action.verify.get("expr"):
        err(f"verifying (up to {args.verify_timeout:.0f}s): {action.verify['expr']} "
             f"{action.verify['op']} {action.verify['value']}")
        outcome = verify(action, outcome, sources.prometheus, sources.server, sources.alertmanager,
                               args.verify_timeout, progress=err)
        entry.record("verified" if outcome.verified else "not_verified", "investigator", what, outcome.verification)
        err(f"  {'verified' if outcome.verified else 'NOT verified'}: {outcome.verification}")
    result = {"status": "applied", "action": action.id, "approver": approver, **outcome.to_dict()}
    if incident.incident:
        result["incident_state"] = incident.incident.get("state")
        result["incident_waiting_for"] = incident.incident.get("waiting_for")
        err(f"incident {incident.id}: {result['incident_state']}" + (
            f"; the server waits for {result['incident_waiting_for']}" if result["incident_waiting_for"] else ""))
    return result
