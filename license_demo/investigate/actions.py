"""Recommended actions: what to do for each likely hypothesis, with the exact call and its risk."""
from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass, field
from urllib.parse import quote

from license_demo.investigate import contacts
from license_demo.investigate.evidence import Evidence
from license_demo.investigate.hypotheses import Hypothesis

# Hypotheses below this confidence get no action of their own.
MIN_CONFIDENCE = 0.3
WORKING_HOURS_PER_MONTH = 176


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
    priority: int = 0

    def to_dict(self) -> dict:
        """The action as JSON-ready data."""
        return {k: getattr(self, k) for k in ("priority", "id", "title", "hypothesis", "why", "risk",
                                              "curl", "command", "request", "verify", "cost", "notify")}


@dataclass
class Context:
    """What the command lines need: URLs, the way this investigation was asked for, the contacts."""

    server_url: str
    investigate_args: str
    teams: dict


def _curl(ctx: Context, method: str, path: str, body: dict | None = None) -> str:
    """The curl line for an admin call, with the token left in $ADMIN_TOKEN."""
    parts = [f"curl -X {method} -H \"Authorization: Bearer $ADMIN_TOKEN\""]
    if body is not None:
        parts.append(f"-H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}")
    parts.append(shlex.quote(ctx.server_url.rstrip("/") + path))
    return " ".join(parts)


def _command(ctx: Context, action_id: str) -> str:
    """The license-demo line that re-runs this investigation and applies `action_id` once approved."""
    return f"license-demo investigate {ctx.investigate_args} --approve {action_id} --approver \"$USER\""


def raise_commit(ev: Evidence, h: Hypothesis, ctx: Context) -> Action | None:
    """Buy more commit seats: sized by the rule of the hypothesis, with the monthly cost comparison."""
    tool = ev.data.get("tool")
    config = ev.data.get("tools", {}).get(tool) or {}
    if not tool or "commit" not in config:
        return None
    now = ev.data["now_by_tool"].get(tool, {})
    overage_now = int(now.get("overage", 0))
    steady = h.key == "commit_too_low"
    # A steady demand gets commit for the overage seats in use now; a burst gets a third
    # of them, the rest stays pay-per-use overage.
    extra = max(1, overage_now if steady else math.ceil(overage_now / 3))
    commit, max_overage = int(config["commit"]), int(config["max_overage"])
    body = {"commit": commit + extra, "max_overage": max(0, max_overage - extra)}
    per_seat, per_checkout = float(config.get("commit_cost_monthly", 0)), float(config.get("overage_cost", 0))
    window_h = ev.settings.window / 3600
    spent = float(ev.data.get("overage_cost_window", {}).get(tool, 0))
    checkouts = float(ev.data.get("overage_window", {}).get(tool, 0))
    extra_monthly = extra * per_seat
    break_even = extra_monthly / per_checkout if per_checkout else None
    pace_per_hour = checkouts / window_h if window_h else 0
    cost = {"extra_commit_seats": extra, "extra_commit_monthly": round(extra_monthly, 2),
            "overage_cost_per_checkout": per_checkout, "overage_spent_window": round(spent, 2),
            "overage_checkouts_window": round(checkouts, 1),
            "overage_monthly_at_window_pace": round(spent / window_h * WORKING_HOURS_PER_MONTH, 2) if window_h else None,
            "break_even_overage_checkouts_per_month": round(break_even, 1) if break_even else None,
            "hours_at_window_pace_to_break_even": round(break_even / pace_per_hour, 2)
            if break_even and pace_per_hour else None}
    path = f"/api/config/tools/{quote(tool, safe='')}"
    return Action(
        "raise-commit", f"Raise commit of {tool}: {commit} → {body['commit']} "
                        f"(overage {max_overage} → {body['max_overage']})", h.key,
        why=(f"{extra} more commit seats cost ${extra_monthly:,.0f}/month; "
             f"they pay off after {break_even:.0f} overage checkouts a month at ${per_checkout:,.0f} each "
             f"(last {ev.settings.window // 60} min: {checkouts:.0f} checkouts, ${spent:,.0f})"
             if break_even else f"{extra} more commit seats"),
        risk=f"${extra_monthly:,.0f} more every month even when the demand drops; total seats stay "
             f"{commit + max_overage}. Existing overage borrows stay billed until returned.",
        curl=_curl(ctx, "PUT", path, body), command=_command(ctx, "raise-commit"),
        request={"method": "PUT", "path": path, "json": body},
        verify={"expr": f'sum(licenses_commit{{tool="{tool}"}})', "op": ">=", "value": body["commit"],
                "alert": ev.data.get("alert_name"), "labels": {"tool": tool}},
        cost=cost)


def notify_team(ev: Evidence, h: Hypothesis, ctx: Context) -> Action | None:
    """Tell the team (its lead, on its channel) what its job costs or blocks."""
    team = h.subject.get("team")
    if not team:
        return None
    who = contacts.contact(ctx.teams, team)
    tool, user = h.subject.get("tool"), h.subject.get("user")
    if h.key == "hoarding":
        text = (f"{user} (team {team}) holds {ev.data.get('holder_seats', 0):.0f} seats on "
                f"{len(ev.data.get('holder_tools', []))} tools; nobody else can borrow. Please stop the job "
                f"or script behind {user}.")
    else:
        share = ev.data.get("top_team_share", 0)
        text = (f"Team {team} made {share:.0%} of the {tool} checkouts in the last "
                f"{ev.settings.window // 60} min; {ev.data['now_by_tool'].get(tool, {}).get('overage', 0):.0f} "
                f"seats are in paid overage (${ev.data.get('tools', {}).get(tool, {}).get('overage_cost', 0):,.0f} "
                "per checkout). Please spread the build or return seats when done.")
    message = {"channel": who["channel"], "text": f"{who['lead']}: {text}"}
    return Action(
        "notify-team", f"Notify team {team}: {who['lead']} on {who['channel']}", h.key,
        why=text, risk="None for the service; the team may need to reschedule its job.",
        curl=f"curl -X POST -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(message))} "
             "\"$NOTIFY_WEBHOOK_URL\"",
        command=_command(ctx, "notify-team"), notify=message)


def force_return(ev: Evidence, h: Hypothesis, ctx: Context) -> Action | None:
    """Return every seat the hoarding user holds, in one admin call."""
    user = h.subject.get("user")
    if not user:
        return None
    seats = ev.data.get("holder_seats", 0)
    path = f"/api/users/{quote(user, safe='')}/force-return"
    return Action(
        "force-return", f"Force-return the {seats:.0f} seats of {user}", h.key,
        why=f"{user} holds {seats:.0f} seats ({ev.data.get('holder_share', 0):.0%} of all in use) "
            f"on {len(ev.data.get('holder_tools', []))} tools",
        risk=f"Jobs of {user} lose their seats mid-run and may fail; if the script keeps running "
             "it borrows again, so tell its owner too.",
        curl=_curl(ctx, "POST", path), command=_command(ctx, "force-return"),
        request={"method": "POST", "path": path},
        verify={"expr": f'sum(licenses_held_by_user{{user="{user}"}}) or vector(0)', "op": "<=", "value": 0,
                "alert": ev.data.get("alert_name"), "labels": {}})


def rollback(ev: Evidence, h: Hypothesis, ctx: Context) -> Action | None:
    """Go back to the previous version."""
    version, previous = h.subject.get("version"), h.subject.get("previous")
    target = f" to {previous}" if previous else ""
    return Action(
        "rollback", f"Roll back {version}{target}", h.key,
        why=f"failures started right after {version} went out",
        risk=f"Whatever {version} brought goes away too; check it held no data migration.",
        curl=_curl(ctx, "POST", "/api/deployments/rollback"), command=_command(ctx, "rollback"),
        request={"method": "POST", "path": "/api/deployments/rollback"},
        verify={"expr": f'count(license_server_build_info{{version="{version}"}}) or vector(0)',
                "op": "<=", "value": 0, "alert": ev.data.get("alert_name"), "labels": {}})


def restart_server(ev: Evidence, h: Hypothesis, ctx: Context) -> Action:
    """Bring the server back (manual: the admin API is down with it)."""
    scraped_only = ev.data.get("server_reachable")
    if scraped_only:
        return Action(
            "check-scrape", "Fix the Prometheus scrape of the license server", h.key,
            why=f"the server answers but the target is failing: {ev.data.get('target_error') or 'no target'}",
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


def recommend(ev: Evidence, ranked: list[Hypothesis], ctx: Context) -> list[Action]:
    """Actions for the likely hypotheses, most likely first, each id once, numbered by priority."""
    actions: list[Action] = []
    likely = [h for h in ranked if h.confidence >= MIN_CONFIDENCE] or ranked[:1]
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


def _commit_pays_off(ev: Evidence, h: Hypothesis, ctx: Context) -> bool:
    """For a build job: is the extra commit paid off within one working day at the window's pace?"""
    action = raise_commit(ev, h, ctx)
    hours = (action.cost or {}).get("hours_at_window_pace_to_break_even") if action else None
    return hours is not None and hours <= 8 and ev.data.get("above_commit_fraction", 0) >= 0.25
