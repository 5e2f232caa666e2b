"""One investigation: subject, evidence, ranked hypotheses, recommended actions, the incident record."""
from __future__ import annotations

from dataclasses import dataclass, field

from license_demo.clients import DemoError
from license_demo.investigate import actions as actions_mod
from license_demo import timestamps
from license_demo.investigate import evidence, findings, gather, hypotheses, subject, wording
from license_demo.investigate.gathered import Alert
from license_demo.investigate.incident import IncidentRecorder

# The name an incident is filed under when no alert fired (a hand-started investigation).
MANUAL_ALERT = "ManualInvestigation"


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


def _received_at(alert: Alert | None, notification: dict | None) -> float | None:
    """When the alert reached us: the notification's receipt, else what the alert sources say."""
    if notification and notification.get("received_at"):
        return timestamps.epoch(notification["received_at"])
    return (alert.received_at or alert.starts_at) if alert else None


def unreachable_error(ev: evidence.Evidence, url: str) -> str | None:
    """The error for a server the investigator cannot reach, with what Prometheus says of it; None if reachable."""
    scrape = ev.scrape
    if ev.server.reachable:
        return None
    up_rows = (ev.fact("server_up").value if ev.fact("server_up") else []) or []
    if not scrape.prometheus_reachable:
        seen = "Prometheus cannot be reached either"
    elif not up_rows:
        seen = 'Prometheus has no license-server target (up{job="license-server"} is empty)'
    else:
        targets = ", ".join(f"{r['instance']} up = {r['value']:.0f}" for r in up_rows)
        seen = f'Prometheus scrapes the license-server job: {targets}'
        if scrape.target_error:
            seen += f" (last scrape error: {scrape.target_error})"
    hint = ""
    if scrape.up == 1:
        instance = up_rows[0]["instance"]
        hint = (f"; the server is running, so the URL is wrong: check --server / LICENSE_SERVER_URL "
                f"(Prometheus reaches it at http://{instance})")
    return f"cannot reach the server at {url}; {seen}{hint}"


def _summary(status: str, ranked: list, recommended: list, ev: evidence.Evidence, error: str | None) -> str:
    """One sentence saying what the investigation found."""
    if status == "server_unreachable" and not ranked:
        return error or "cannot reach the server"
    if status == "nothing_abnormal":
        tool = ev.tool
        return (f"Nothing abnormal found{' on ' + tool if tool else ''} in the last "
                f"{wording.duration(ev.settings.window)}: no alert fired and no hypothesis reaches "
                f"{actions_mod.MIN_CONFIDENCE:.0%}")
    top = ranked[0]
    first = recommended[0].title if recommended else "no action is likely enough yet"
    return f"{top.title} ({top.confidence:.0%}); first action: {first}"


def find_open_incident(server, alert: str, tool: str | None, user: str | None) -> dict | None:
    """The open incident the server would join (license_server/incident_rule.find_open): the
    tool's, whatever alert opened it and whoever it names; without a tool, the one of the same
    alert and user. Newest first, as the server lists them."""
    try:
        incidents = server.call("GET", "/api/incidents?status=open").json()
    except DemoError:
        return None
    tool, user = tool or None, user or None
    return next((i for i in incidents if (i.get("tool") or None) == tool
                 and (tool or (i.get("alert") == alert and (i.get("user") or None) == user))), None)


def run(sources: evidence.Sources, req: Request, teams: dict) -> Investigation:
    """Gather, rank, recommend, and open (or join) the incident with the report."""
    tools, users, team_names = known_names(sources)
    subj = subject.parse(req.text, tools, users, team_names, alert=req.alert, tool=req.tool, user=req.user)
    ev = gather.gather(sources, subj, req.settings)
    error = unreachable_error(ev, sources.server.url)
    # A server Prometheus scrapes fine is not down: the investigator is pointed at the wrong place,
    # and every hypothesis would be built on facts it could not read.
    ranked = [] if error and ev.scrape.up == 1 else hypotheses.rank(ev)
    ctx = actions_mod.ActionContext(sources.server.url, command_args(req), teams)
    recommended = actions_mod.recommend(ev, ranked, ctx) if ranked else []
    alert = ev.alert
    labels = alert.labels if alert else {}
    likely = [h for h in ranked if h.confidence >= actions_mod.MIN_CONFIDENCE]
    if error:
        status = "server_unreachable"
    elif likely or alert:
        status = "findings"
    else:
        status = "nothing_abnormal"
    top = ranked[0] if ranked else None
    alert_name = ev.alert_name
    severity = labels.get("severity") or ("critical" if top and top.key == "server_down" and likely else "warning")
    result = {"status": status, "summary": _summary(status, ranked, recommended, ev, error), "error": error,
              "alert": alert_name, "alert_firing": bool(alert and not alert.resolved),
              "severity": severity, "tool": ev.tool, "evidence": ev.to_dict(),
              "hypotheses": [h.to_dict() for h in ranked], "actions": [a.to_dict() for a in recommended],
              "top_hypothesis": top.key if top and likely else None,
              "first_action": recommended[0].id if recommended else None,
              "notes": [], "incident_id": None, "incident_url": None}
    recorder = IncidentRecorder(sources.server, result["notes"])
    if status == "findings" and req.record_incident and sources.server.admin_token:
        _record(recorder, result, ev, alert, top, req)
    elif status == "findings" and req.record_incident:
        result["notes"].append("incident not recorded: recording needs the admin token "
                               "(ADMIN_TOKEN or --admin-token)")
    elif status == "server_unreachable" and req.record_incident:
        result["notes"].append("incident not recorded: the server that keeps incidents cannot be reached")
    return Investigation(ev, ranked, recommended, result, recorder)


def _record(recorder: IncidentRecorder, result: dict, ev: evidence.Evidence, alert: Alert | None, top,
            req: Request) -> None:
    """Join the incident the alert opened (or open it), then attach the report to its timeline."""
    labels = alert.labels if alert else {}
    # Without an alert the incident is a hand-started investigation: it names no alert that did not fire.
    name = result["alert"] or MANUAL_ALERT
    tool = labels.get("tool") if alert else ev.tool
    user = labels.get("user") if alert else (top.subject.get("user") if top else None)
    found = find_open_incident(recorder.server, name, tool, user)
    if found:
        recorder.incident = found
        result["notes"].append(f"joined {found['id']}, the open incident "
                               + (f"of {tool} (opened by {found.get('alert')})" if tool
                                  else f"for {name}" + (f" by {user}" if user else "")))
    else:
        recorder.open(name, result["severity"], tool, user, top.subject.get("team") if top else None,
                      summary=result["summary"], problem_started_at=alert.active_at if alert else None,
                      alert_received_at=_received_at(alert, req.notification))
    result["incident_id"], result["incident_url"] = recorder.id, recorder.url()
    recorder.event("investigation_done", result["summary"], by="investigator",
                   report={"markdown": findings.markdown(result), "top_hypothesis": result["top_hypothesis"],
                           "first_action": result["first_action"],
                           # The incident's page offers these for approval (license_server/approvals.py).
                           "actions": result["actions"]})
