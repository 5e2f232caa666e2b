"""Recommended actions: what to do for each likely hypothesis, with the exact call and its risk."""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from urllib.parse import quote

from license_demo.investigate import capacity_math, contacts
from license_demo.investigate.evidence import Evidence
from license_demo.investigate.hypotheses import Hypothesis
from rule_source.promql import quoted
from license_demo.investigate.wording import duration, ordinal, plural

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
    d, tool = ev.data, ev.data.get("tool")
    config = d.get("tools", {}).get(tool) or {}
    samples, threshold = d.get("demand_samples"), d.get("overage_threshold")
    if not tool or "commit" not in config or not samples or threshold is None:
        return None
    commit, max_overage = int(config["commit"]), int(config["max_overage"])
    # Live prices from Prometheus; the server's tool record when Prometheus has none.
    per_seat = d.get("commit_cost_monthly")
    per_checkout = d.get("overage_cost")
    per_seat = float(config.get("commit_cost_monthly", 0) if per_seat is None else per_seat)
    per_checkout = float(config.get("overage_cost", 0) if per_checkout is None else per_checkout)
    alert_for = d.get("overage_alert_for") or 0.0
    checkouts = float(d.get("overage_window", {}).get(tool, 0))
    rate_window = d.get("overage_rate_window") or 0.0
    sizing = capacity_math.size_commit(samples, d.get("demand_step", 5), alert_for, threshold, commit, checkouts,
                                       per_checkout, per_seat, borrows=d.get("demand_borrows"),
                                       rate_window_seconds=rate_window, load_seconds=d.get("busy_seconds"))
    if sizing.extra_seats <= 0:
        return None
    total = commit + max_overage
    body = {"commit": sizing.new_commit, "max_overage": max(0, total - sizing.new_commit)}
    span = duration(ev.settings.window)
    cost = {**sizing.to_dict(), "alert_threshold": threshold, "alert_for_seconds": alert_for,
            "overage_cost_per_checkout": per_checkout, "commit_cost_monthly_per_seat": per_seat,
            "overage_checkouts_window": checkouts, "window_seconds": ev.settings.window,
            "rate_window_seconds": rate_window,
            "samples": len(samples), "step_seconds": d.get("demand_step", 5)}
    # Under churn the peak is sized (the share swings around its average); held seats at a percentile.
    demand_text = ("with seats coming and going, the most seats in use at once" if sizing.churn_share >= 0.5
                   else f"the {ordinal(round(sizing.quantile * 100, 1))} percentile of seats in use")
    # Money for the load that was seen, and how often it must recur to pay: a few minutes of load
    # are no basis for a monthly figure.
    times = sizing.episodes_to_break_even
    per_hour = sizing.overage_cost_per_hour_of_load
    load = (f"The load ran {duration(sizing.load_seconds)} with seats in use and its overage cost "
            f"${sizing.overage_cost_observed:,.0f}" + (f" (${per_hour:,.0f} per hour of such load)" if per_hour else ""))
    recurrence = ("" if not times else
                  f"; one run like this one a month pays for them (it avoids {1 / times:,.1f} months of the extra "
                  f"commit)" if times <= 1 else
                  f"; they pay for themselves only if a run like this one happens {times:,.1f} times a month or more")
    path = f"/api/config/tools/{quote(tool, safe='')}"
    return Action(
        "raise-commit", f"Raise commit of {tool}: {commit} → {sizing.new_commit} "
                        f"(overage {max_overage} → {body['max_overage']})", h.key,
        why=(f"{demand_text} over the last {span} is {plural(sizing.demand, 'seat')} "
             f"({plural(sum(1 for v in samples if v > 0), 'sample')} with seats in use); at commit {commit} "
             f"{sizing.overage_share_before:.0%} of them are overage, at {sizing.new_commit} "
             f"{sizing.overage_share_after:.0%}, and the overage share of checkouts in every "
             f"{duration(rate_window)} rate window (but those the alert's {duration(alert_for)} forgives) stays at "
             f"{sizing.checkout_share_after:.0%} at most: both under the alert's {threshold:.0%}. "
             f"{plural(sizing.extra_seats, 'more commit seat')} cost ${sizing.extra_commit_monthly:,.0f}/month; "
             f"they would have absorbed about {plural(round(sizing.absorbed_checkouts), 'overage checkout')} of the "
             f"{checkouts:,.0f} in the last {span} (${sizing.avoided_overage:,.0f} at ${per_checkout:,.0f} each). "
             f"{load}. Break-even: {plural(sizing.break_even_checkouts_per_month or 0, 'overage checkout')} a month"
             f"{recurrence}."),
        risk=f"${sizing.extra_commit_monthly:,.0f} more every month even when the demand drops; total seats stay "
             f"{total}. Existing overage borrows stay billed until returned.",
        curl=_curl(ctx, "PUT", path, body), command=_command(ctx, "raise-commit"),
        request={"method": "PUT", "path": path, "json": body},
        verify={"expr": f"sum(licenses_commit{{tool={quoted(tool)}}})", "op": ">=", "value": body["commit"],
                "alert": d.get("alert_name"), "labels": {"tool": tool}},
        cost=cost)


def notify_team(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> Action | None:
    """Tell the team (its lead, on its channel) what its job costs or blocks."""
    team = h.subject.get("team")
    if not team:
        return None
    who = contacts.contact(ctx.teams, team)
    tool, user, d = h.subject.get("tool"), h.subject.get("user"), ev.data
    if h.key == "hoarding":
        text = (f"{user} (team {team}) holds {plural(d.get('holder_seats', 0), 'seat')} on "
                f"{plural(len(d.get('holder_tools', [])), 'tool')}; nobody else can borrow. Please stop the job "
                f"or script behind {user}.")
    else:
        share, mine, total = d.get("top_team_share", 0), d.get("top_team_checkouts", 0), d.get("checkouts_total", 0)
        overage = d["now_by_tool"].get(tool, {}).get("overage", 0)
        price = d.get("overage_cost")
        price = d.get("tools", {}).get(tool, {}).get("overage_cost", 0) if price is None else price
        text = (f"Team {team} made {share:.0%} of the {tool} checkouts in the last {duration(ev.settings.window)} "
                f"({mine:,.0f} of {plural(total, 'checkout')}); {plural(overage, 'seat')} "
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
    d = ev.data
    seats, ids = d.get("holder_seats", 0), d.get("holder_borrow_ids", [])
    tools = d.get("holder_tools", [])
    path = f"/api/users/{quote(user, safe='')}/force-return"
    shown = ", ".join(ids[:10]) + (f" … +{len(ids) - 10} more" if len(ids) > 10 else "")
    return Action(
        "force-return", f"Force-return the {plural(seats, 'seat')} of {user}", h.key,
        why=f"{user} holds {plural(seats, 'seat')} ({d.get('holder_share', 0):.0%} of all in use) "
            f"on {plural(len(tools), 'tool')} ({', '.join(tools)}); borrow ids: {shown or 'none listed'}",
        risk=f"Jobs of {user} lose their seats mid-run and may fail; if the script keeps running "
             "it borrows again, so tell its owner too.",
        curl=_curl(ctx, "POST", path), command=_command(ctx, "force-return"),
        request={"method": "POST", "path": path},
        verify={"expr": f"sum(licenses_held_by_user{{user={quoted(user)}}}) or vector(0)", "op": "<=", "value": 0,
                "alert": d.get("alert_name"), "labels": {}},
        cost=None, target={"user": user, "seats": seats, "borrow_ids": ids, "tools": tools})


def rollback(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> Action | None:
    """Go back to the previous version."""
    version, previous = h.subject.get("version"), h.subject.get("previous")
    target = f" to {previous}" if previous else ""
    return Action(
        "rollback", f"Roll back {version}{target}", h.key,
        why=(f"failures started right after {version} went out: "
             f"{plural(ev.data.get('failures_after', 0), 'failed borrow')} since the change against "
             f"{ev.data.get('failures_before', 0):,.0f} in as long before it"),
        risk=f"Whatever {version} brought goes away too; check it held no data migration.",
        curl=_curl(ctx, "POST", "/api/deployments/rollback"), command=_command(ctx, "rollback"),
        request={"method": "POST", "path": "/api/deployments/rollback"},
        verify={"expr": f"count(license_server_build_info{{version={quoted(version)}}}) or vector(0)",
                "op": "<=", "value": 0, "alert": ev.data.get("alert_name"), "labels": {}})


def restart_server(ev: Evidence, h: Hypothesis, ctx: ActionContext) -> Action:
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
    return bool(action and action.cost and action.cost["pays_off"]) and ev.data.get("above_commit_fraction", 0) >= 0.25
