"""Recommended actions: what to do for each likely hypothesis, with the exact call and its risk."""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from urllib.parse import quote

from license_demo.investigate import capacity_math, contacts, wording
from license_demo.investigate.evidence import Evidence
from license_demo.investigate.hypotheses import Hypothesis
from rule_source.promql import quoted
from license_demo.investigate.wording import duration, plural

# Hypotheses below this confidence get no action of their own.
MIN_CONFIDENCE = 0.3


@dataclass
class Action:
    """One recommended step; `request` is the admin API call --apply makes (None: manual)."""

    id: str
    title: str
    hypothesis: str
    why: str
    risk: str
    curl: str
    command: str
    request: dict | None = None
    verify: dict = field(default_factory=dict)
    cost: dict | None = None
    notify: dict | None = None
    # What the action acts on (user, seats, borrow ids ...), for scripts reading --json.
    target: dict | None = None
    priority: int = 0

    def to_dict(self) -> dict:
        """The action as JSON-ready data."""
        return {k: getattr(self, k) for k in ("priority", "id", "title", "hypothesis", "why", "risk",
                                              "curl", "command", "request", "verify", "cost", "notify",
                                              "target")}


@dataclass
class ActionContext:
    """What the command lines need: URLs, the way this investigation was asked for, the contacts."""

    server_url: str
    investigate_args: str
    teams: dict


def _curl(ctx: ActionContext, method: str, path: str, body: dict | None = None) -> str:
    """The curl line for an admin call, with the token left in $ADMIN_TOKEN."""
    parts = [f"curl -X {method} -H \"Authorization: Bearer $ADMIN_TOKEN\""]
    if body is not None:
        parts.append(f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}")
    parts.append(shlex.quote(ctx.server_url.rstrip("/") + path))
    return " ".join(parts)


def _command(ctx: ActionContext, action_id: str) -> str:
    """The license-demo line that re-runs this investigation and applies `action_id` once approved."""
    return f"license-demo investigate {ctx.investigate_args} --approve {action_id} --approver \"$USER\""


def raise_commit(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> Action | None:
    """Buy the commit the observed demand needed to stay under the alert's threshold, with both costs."""
    tool, demand = ev.tool, ev.demand
    config = ev.usage.tools.get(tool or "") or {}
    if not tool or "commit" not in config or not demand.samples or demand.overage_threshold is None:
        return None
    # Live prices from Prometheus; the server's tool record when Prometheus has none.
    per_seat = demand.commit_cost_monthly
    per_checkout = demand.overage_cost
    proposal = capacity_math.propose_commit(
        tool, int(config["commit"]), int(config["max_overage"]), demand.samples, demand.step_seconds,
        demand.overage_threshold, demand.alert_for_seconds or 0.0, demand.rate_window_seconds or 0.0,
        float(ev.usage.overage_window.get(tool, 0)),
        float(config.get("overage_cost", 0) if per_checkout is None else per_checkout),
        float(config.get("commit_cost_monthly", 0) if per_seat is None else per_seat),
        ev.settings.window, borrows=demand.borrows, load_seconds=demand.busy_seconds)
    if proposal is None:
        return None
    body = {"commit": proposal.new_commit, "max_overage": proposal.new_max_overage}
    path = f"/api/config/tools/{quote(tool, safe='')}"
    return Action(
        "raise-commit", wording.raise_commit_title(proposal), h.key, why=wording.raise_commit_why(proposal),
        risk=wording.raise_commit_risk(proposal), curl=_curl(ctx, "PUT", path, body),
        command=_command(ctx, "raise-commit"), request={"method": "PUT", "path": path, "json": body},
        verify={"expr": f"sum(licenses_commit{{tool={quoted(tool)}}})", "op": ">=", "value": body["commit"],
                "alert": ev.alert_name, "labels": {"tool": tool}},
        cost=proposal.to_dict())


def notify_team(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> Action | None:
    """Tell the team (its lead, on its channel) what its job costs or blocks."""
    team = h.subject.get("team")
    if not team:
        return None
    who = contacts.contact(ctx.teams, team)
    tool, user = h.subject.get("tool"), h.subject.get("user")
    if h.key == "hoarding":
        holder = ev.holder
        text = (f"{user} (team {team}) holds {plural(holder.seats, 'seat')} on "
                f"{plural(len(holder.tools), 'tool')}; nobody else can borrow. Please stop the job "
                f"or script behind {user}.")
    else:
        b = ev.borrowers
        overage = ev.usage.seats(tool).overage
        price = ev.demand.overage_cost
        price = ev.usage.tools.get(tool, {}).get("overage_cost", 0) if price is None else price
        text = (f"Team {team} made {b.top_team_share:.0%} of the {tool} checkouts in the last "
                f"{duration(ev.settings.window)} ({b.top_team_checkouts:,.0f} of "
                f"{plural(b.checkouts_total, 'checkout')}); {plural(overage, 'seat')} "
                f"{'is' if overage == 1 else 'are'} in paid overage (${price:,.0f} per checkout). "
                "Please spread the build or return seats when done.")
    message = {"channel": who["channel"], "text": f"{who['lead']}: {text}"}
    return Action(
        "notify-team", f"Notify team {team}: {who['lead']} on {who['channel']}", h.key,
        why=text, risk="None for the service; the team may need to reschedule its job.",
        curl=f"curl -X POST -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(message))} "
             "\"$NOTIFY_WEBHOOK_URL\"",
        command=_command(ctx, "notify-team"), notify=message)


def force_return(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> Action | None:
    """Return every seat the hoarding user holds, in one admin call."""
    user = h.subject.get("user")
    if not user:
        return None
    holder = ev.holder
    seats, ids, tools = holder.seats, holder.borrow_ids, holder.tools
    path = f"/api/users/{quote(user, safe='')}/force-return"
    shown = ", ".join(ids[:10]) + (f" … +{len(ids) - 10} more" if len(ids) > 10 else "")
    return Action(
        "force-return", f"Force-return the {plural(seats, 'seat')} of {user}", h.key,
        why=f"{user} holds {plural(seats, 'seat')} ({holder.share:.0%} of all in use) "
            f"on {plural(len(tools), 'tool')} ({', '.join(tools)}); borrow ids: {shown or 'none listed'}",
        risk=f"Jobs of {user} lose their seats mid-run and may fail; if the script keeps running "
             "it borrows again, so tell its owner too.",
        curl=_curl(ctx, "POST", path), command=_command(ctx, "force-return"),
        request={"method": "POST", "path": path},
        verify={"expr": f"sum(licenses_held_by_user{{user={quoted(user)}}}) or vector(0)", "op": "<=", "value": 0,
                "alert": ev.alert_name, "labels": {}},
        cost=None, target={"user": user, "seats": seats, "borrow_ids": ids, "tools": tools})


def rollback(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> Action | None:
    """Go back to the previous version."""
    version, previous = h.subject.get("version"), h.subject.get("previous")
    target = f" to {previous}" if previous else ""
    return Action(
        "rollback", f"Roll back {version}{target}", h.key,
        why=(f"failures started right after {version} went out: "
             f"{plural(ev.changes.failures_after, 'failed borrow')} since the change against "
             f"{ev.changes.failures_before:,.0f} in as long before it"),
        risk=f"Whatever {version} brought goes away too; check it held no data migration.",
        curl=_curl(ctx, "POST", "/api/deployments/rollback"), command=_command(ctx, "rollback"),
        request={"method": "POST", "path": "/api/deployments/rollback"},
        verify={"expr": f"count(license_server_build_info{{version={quoted(version)}}}) or vector(0)",
                "op": "<=", "value": 0, "alert": ev.alert_name, "labels": {}})


def restart_server(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> Action:
    """Bring the server back (manual: the admin API is down with it)."""
    if ev.server.reachable:
        return Action(
            "check-scrape", "Fix the Prometheus scrape of the license server", h.key,
            why=f"the server answers but the target is failing: {ev.scrape.target_error or 'no target'}",
            risk="None; alerts are blind until the scrape works again.",
            curl="curl -s \"$PROMETHEUS_URL/api/v1/targets?state=active\"",
            command="license-demo stack  # restart with the generated Prometheus config",
            verify={"expr": 'min(up{job="license-server"})', "op": ">=", "value": 1})
    return Action(
        "restart-server", "Restart the license server and read its last log lines", h.key,
        why="the server does not answer and Prometheus cannot scrape it",
        risk="Active borrows survive in the database; clients retry once it is back.",
        curl=f"curl -s {shlex.quote(ctx.server_url.rstrip('/') + '/readyz')}",
        command="python -m license_server --port <port>  # or: license-demo stack",
        verify={"expr": 'min(up{job="license-server"})', "op": ">=", "value": 1})


PLAYBOOK = {
    "build_job": (notify_team, raise_commit),
    "commit_too_low": (raise_commit, notify_team),
    "hoarding": (force_return, notify_team),
    "bad_deployment": (rollback,),
    "server_down": (restart_server,),
}


def recommend(ev: Evidence, ranked: list[Hypothesis], ctx: ActionContext) -> list[Action]:
    """Actions for the likely hypotheses, most likely first, each id once, numbered by priority."""
    actions: list[Action] = []
    likely = [h for h in ranked if h.confidence >= MIN_CONFIDENCE]
    for h in likely:
        steps = PLAYBOOK[h.key]
        if h.key == "build_job" and _commit_pays_off(ev, h, ctx):
            steps = (raise_commit, notify_team)
        for step in steps:
            action = step(ev, h, ctx)
            if action and action.id not in {a.id for a in actions}:
                actions.append(action)
    for i, action in enumerate(actions, 1):
        action.priority = i
    return actions


def _commit_pays_off(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> bool:
    """For a build job: does the extra commit pay off at the window's pace, with demand above commit often?"""
    action = raise_commit(ev, h, ctx)
    return bool(action and action.cost and action.cost["pays_off"]) and ev.demand.above_commit_fraction >= 0.25
