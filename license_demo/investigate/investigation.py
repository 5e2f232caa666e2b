"""One investigation: subject, evidence, ranked hypotheses, recommended actions, the incident record."""
from __future__ import annotations

from dataclasses import dataclass, field

from license_demo.clients import DemoError
from license_demo.investigate import actions as actions_mod
from license_demo.investigate import evidence, hypotheses, report, subject
from license_demo.investigate.incident import IncidentRecorder

# The alert an incident is filed under when none fires (a hand-started investigation).
ALERT_FOR_HYPOTHESIS = {"build_job": "HighOverageRate", "commit_too_low": "HighOverageRate",
                        "hoarding": "SingleUserHoarding", "bad_deployment": "BorrowFailureSpike",
                        "server_down": "LicenseServerDown"}


@dataclass
class Request:
    """What the operator asked: free text and/or an alert, tool, user; and how far back to look."""

    text: str = ""
    alert: str | None = None
    tool: str | None = None
    user: str | None = None
    settings: evidence.Settings = field(default_factory=evidence.Settings)
    record_incident: bool = True
    # The notification that started this investigation (--watch): its times date the incident.
    notification: dict | None = None


@dataclass
class Investigation:
    """The outcome: the evidence, the ranking, the actions and the JSON-ready result."""

    evidence: evidence.Evidence
    hypotheses: list
    actions: list
    result: dict
    incident: IncidentRecorder


def known_names(sources: evidence.Sources) -> tuple[list[str], list[str], list[str]]:
    """Tools (from the server, else Prometheus), users and teams seen in the metrics."""
    tools, users, teams = [], set(), set()
    try:
        tools = [t["name"] for t in sources.server.tools()]
    except DemoError:
        pass
    try:
        if not tools:
            tools = [r["metric"]["tool"] for r in sources.prometheus.query("count by (tool) (licenses_commit)")]
        for r in sources.prometheus.query(
                "count by (user, team) (license_checkouts_by_user_total) or count by (user, team) "
                "(licenses_held_by_user)"):
            users.add(r["metric"].get("user", ""))
            teams.add(r["metric"].get("team", ""))
    except DemoError:
        pass
    return tools, sorted(u for u in users if u), sorted(t for t in teams if t)


def command_args(req: Request) -> str:
    """The investigate arguments that repeat this request on a command line."""
    import shlex
    parts = [shlex.quote(req.text)] if req.text else []
    for flag, value in (("--alert", req.alert), ("--tool", req.tool), ("--user", req.user)):
        if value:
            parts += [flag, shlex.quote(value)]
    return " ".join(parts)


def _received_at(alert: dict | None, notification: dict | None) -> float | None:
    """When the alert reached us: the notification's receipt, else what the alert sources say."""
    if notification and notification.get("received_at"):
        return evidence.epoch(notification["received_at"])
    return (alert.get("received_at") or alert.get("starts_at")) if alert else None


def run(sources: evidence.Sources, req: Request, teams: dict) -> Investigation:
    """Gather, rank, recommend, and open or update the incident with the report."""
    tools, users, team_names = known_names(sources)
    subj = subject.parse(req.text, tools, users, team_names, alert=req.alert, tool=req.tool, user=req.user)
    ev = evidence.gather(sources, subj, req.settings)
    ranked = hypotheses.rank(ev)
    ctx = actions_mod.Context(sources.server.url, command_args(req), teams)
    recommended = actions_mod.recommend(ev, ranked, ctx)
    alert = ev.data.get("alert")
    labels = alert["labels"] if alert else {}
    top = ranked[0]
    alert_name = ev.data.get("alert_name") or ALERT_FOR_HYPOTHESIS[top.key]
    severity = labels.get("severity") or ("critical" if top.key == "server_down" else "warning")
    result = {"alert": alert_name, "alert_firing": bool(alert), "severity": severity,
              "tool": ev.data.get("tool"), "evidence": ev.to_dict(),
              "hypotheses": [h.to_dict() for h in ranked], "actions": [a.to_dict() for a in recommended],
              "top_hypothesis": top.key, "first_action": recommended[0].id if recommended else None,
              "notes": [], "incident_id": None, "incident_url": None}
    recorder = IncidentRecorder(sources.server, result["notes"])
    if req.record_incident and sources.server.admin_token:
        who = top.subject
        recorder.open(alert_name, severity, ev.data.get("tool") if top.key in ("build_job", "commit_too_low") else labels.get("tool"),
                      who.get("user") or labels.get("user"), who.get("team"),
                      summary=f"{top.title} ({top.confidence:.0%})",
                      problem_started_at=alert.get("active_at") if alert else None,
                      alert_received_at=_received_at(alert, req.notification))
        result["incident_id"], result["incident_url"] = recorder.id, recorder.url()
        first = recommended[0].title if recommended else "none"
        recorder.event("investigation_done", f"top hypothesis: {top.title} ({top.confidence:.0%}); "
                                             f"first action: {first}",
                       by="investigator", report={"markdown": report.markdown(result),
                                                  "top_hypothesis": top.key,
                                                  "first_action": result["first_action"]})
    elif req.record_incident:
        result["notes"].append("incident not recorded: recording needs the admin token "
                               "(ADMIN_TOKEN or --admin-token)")
    return Investigation(ev, ranked, recommended, result, recorder)
