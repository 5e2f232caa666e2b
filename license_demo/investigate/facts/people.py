"""People facts: which users and teams borrow the tool in focus, and who holds the most seats.

With a tool in focus, every person these facts name is involved with that tool (borrowed it in
the window or holds its seats), unless the question or the alert named them: an engineer who
only holds seats of other tools says nothing about this tool.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from license_demo.clients import DemoError
from license_demo.investigate import wording
from license_demo.investigate.gathered import Borrowers, Holder, TeamHold
from rule_source.promql import grew, quoted

if TYPE_CHECKING:
    from license_demo.investigate.evidence import FactLog

# How many holders the top_holders fact lists.
TOP_HOLDERS = 5


def borrower_facts(col: FactLog) -> None:
    """Who drives the borrows of the tool in focus, and which teams and users hold its seats now."""
    ev, w, s, tool = col.ev, wording.duration(col.ev.settings.window), col.ev.settings, col.ev.tool
    if not tool:
        ev.borrowers = Borrowers()
        return
    sel = f"tool={quoted(tool)}"
    users = col.rows("checkouts_by_user", f"checkouts of {tool} by user in the last {w}",
                     grew(f"license_checkouts_by_user_total{{{sel}}}", "user, team", s.window) + " > 0",
                     ("user", "team"), "checkout")
    teams = col.rows("checkouts_by_team", f"checkouts of {tool} by team in the last {w}",
                     grew(f"license_checkouts_by_user_total{{{sel}}}", "team", s.window) + " > 0", ("team",),
                     "checkout")
    total = sum(r["value"] for r in teams)
    top_share = round(teams[0]["value"] / total, 3) if total else 0.0
    if teams:
        col.add("top_team_share", f"share of the {tool} checkouts in the last {w} made by team {teams[0]['team']}",
                top_share,
                f"max({grew(f'license_checkouts_by_user_total{{{sel}}}', 'team', s.window)}) / "
                f"{grew(f'license_checkouts_by_user_total{{{sel}}}', '', s.window)}",
                "prometheus", "ratio")
    held: dict[str, dict] = {}
    holders: dict[tuple[str, str], int] = {}
    if ev.server.reachable:
        try:
            for b in col.sources.server.borrows(tool=tool):
                entry = held.setdefault(b.get("team") or "(none)", {"seats": 0, "overage": 0})
                entry["seats"] += 1
                entry["overage"] += 1 if b.get("overage") else 0
                key = (b.get("user") or "", b.get("team") or "")
                holders[key] = holders.get(key, 0) + 1
        except DemoError as exc:
            ev.notes.append(str(exc))
        col.add("held_by_team", f"seats of {tool} held now, by team",
                [{"team": t, **v} for t, v in sorted(held.items(), key=lambda kv: -kv[1]["seats"])],
                f"GET /api/borrows?tool={tool}", "server", "seat")
    ev.borrowers = Borrowers(
        tool=tool, by_user=users, by_team=teams, top_team=teams[0]["team"] if teams else None,
        top_team_share=top_share, top_team_checkouts=teams[0]["value"] if teams else 0, checkouts_total=total,
        teams_over_20pct=sum(1 for r in teams if total and r["value"] / total >= 0.2),
        held_by_team={t: TeamHold(**v) for t, v in held.items()},
        holders=[{"user": u, "team": t, "value": n}
                 for (u, t), n in sorted(holders.items(), key=lambda kv: (-kv[1], kv[0]))])


def _top_holders(col: FactLog) -> tuple[list[dict], str]:
    """The top holders, of the tool in focus when there is one, else of every tool; and why those."""
    ev, tool = col.ev, col.ev.tool
    if tool:
        top = ev.borrowers.holders[:TOP_HOLDERS]
        if ev.server.reachable:
            col.add("top_holders", f"seats of {tool} held now by the top {TOP_HOLDERS} users", top,
                    f"GET /api/borrows?tool={tool}", "server", "seat")
        return top, f"holds the most seats of {tool}"
    top = col.rows("top_holders", f"seats held now by the top {TOP_HOLDERS} users, all tools (no tool in focus)",
                   f"topk({TOP_HOLDERS}, sum by (user, team) (licenses_held_by_user) > 0)", ("user", "team"),
                   "seat")
    return top, "holds the most seats of all tools (no tool in focus)"


def holder_facts(col: FactLog) -> None:
    """Who holds the most seats now (of the tool in focus, if any), and on how many tools."""
    ev, s = col.ev, col.ev.settings
    top, top_why = _top_holders(col)
    total = col.scalar("seats_in_use_total", "seats in use now, all tools", "sum(licenses_in_use)", "seat")
    available = col.scalar("seats_available_total", "seats free now, all tools", "sum(licenses_available)",
                           "seat")
    alert_user = ev.alert.labels.get("user") if ev.alert else None
    if ev.subject.user:
        user, why = ev.subject.user, "named in the question"
    elif alert_user:
        user, why = alert_user, f"named by {ev.alert.name}"
    elif top:
        user, why = top[0]["user"], top_why
    else:
        ev.holder = Holder(top=top, seats_in_use_total=total or 0.0, seats_available_total=available)
        return
    held = col.scalar("holder_seats", f"seats held now by {user}, all tools ({user} {why})",
                      f'sum(licenses_held_by_user{{user={quoted(user)}}})', "seat") or 0
    share = round(held / total, 3) if total else 0.0
    col.add("holder_share", f"share of all seats in use held by {user}", share,
            f'sum(licenses_held_by_user{{user={quoted(user)}}}) / sum(licenses_in_use)', "prometheus", "ratio")
    mine_expr = grew(f'license_checkouts_by_user_total{{user={quoted(user)}}}', "", s.window)
    everyone_expr = grew("license_checkouts_by_user_total", "", s.window)
    mine, everyone = col.scalar(None, "", mine_expr), col.scalar(None, "", everyone_expr)
    checkout_share = round(mine / everyone, 3) if everyone else 0.0
    col.add("holder_checkout_share", f"share of all checkouts in the last {wording.duration(s.window)} made by "
                                     f"{user}", checkout_share, f"{mine_expr} / {everyone_expr}", "prometheus", "ratio")
    team = next((r["team"] for r in top if r["user"] == user), None)
    tools, ids = set(), []
    if ev.server.reachable:
        try:
            borrows = col.sources.server.borrows(user=user)
            tools, ids = {b["tool"] for b in borrows}, [b["id"] for b in borrows]
            team = team or next((b.get("team") for b in borrows), None)
        except DemoError as exc:
            ev.notes.append(str(exc))
        col.add("holder_tools", f"tools on which {user} holds seats", sorted(tools),
                f"GET /api/borrows?user={user}", "server")
        col.add("holder_borrow_ids", f"borrow ids of the seats {user} holds", ids,
                f"GET /api/borrows?user={user}", "server")
    ev.holder = Holder(top=top, seats_in_use_total=total or 0.0, seats_available_total=available, user=user,
                       why=why, team=team, seats=held, share=share, checkout_share=checkout_share,
                       tools=sorted(tools), borrow_ids=ids)
