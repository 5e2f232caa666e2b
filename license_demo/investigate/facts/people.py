"""People facts: which users and teams borrow the tool in focus, and who holds the most seats."""
from __future__ import annotations

from typing import TYPE_CHECKING

from license_demo.clients import DemoError
from license_demo.investigate import wording
from rule_source.promql import grew, quoted

if TYPE_CHECKING:
    from license_demo.investigate.evidence import FactLog


def borrower_facts(col: FactLog) -> None:
    """Who drives the borrows of the tool in focus, and which teams hold its seats now."""
    ev, w, s, tool = col.ev, wording.duration(col.ev.settings.window), col.ev.settings, col.ev.data.get("tool")
    if not tool:
        return
    sel = f"tool={quoted(tool)}"
    users = col.rows("checkouts_by_user", f"checkouts of {tool} by user in the last {w}",
                     grew(f"license_checkouts_by_user_total{{{sel}}}", "user, team", s.window) + " > 0",
                     ("user", "team"), "checkout")
    teams = col.rows("checkouts_by_team", f"checkouts of {tool} by team in the last {w}",
                     grew(f"license_checkouts_by_user_total{{{sel}}}", "team", s.window) + " > 0", ("team",),
                     "checkout")
    ev.data["checkouts_by_user"], ev.data["checkouts_by_team"] = users, teams
    total = sum(r["value"] for r in teams)
    ev.data["top_team"] = teams[0]["team"] if teams else None
    ev.data["top_team_share"] = round(teams[0]["value"] / total, 3) if total else 0.0
    ev.data["top_team_checkouts"], ev.data["checkouts_total"] = (teams[0]["value"] if teams else 0), total
    ev.data["teams_over_20pct"] = sum(1 for r in teams if total and r["value"] / total >= 0.2)
    if teams:
        col.add("top_team_share", f"share of the {tool} checkouts in the last {w} made by team {teams[0]['team']}",
                ev.data["top_team_share"],
                f"max({grew(f'license_checkouts_by_user_total{{{sel}}}', 'team', s.window)}) / "
                f"{grew(f'license_checkouts_by_user_total{{{sel}}}', '', s.window)}",
                "prometheus", "ratio")
    held = {}
    if ev.data.get("server_reachable"):
        try:
            for b in col.sources.server.borrows(tool=tool):
                entry = held.setdefault(b.get("team") or "(none)", {"seats": 0, "overage": 0})
                entry["seats"] += 1
                entry["overage"] += 1 if b.get("overage") else 0
        except DemoError as exc:
            ev.notes.append(str(exc))
        col.add("held_by_team", f"seats of {tool} held now, by team",
                [{"team": t, **v} for t, v in sorted(held.items(), key=lambda kv: -kv[1]["seats"])],
                f"GET /api/borrows?tool={tool}", "server", "seat")
    ev.data["held_by_team"] = held


def holder_facts(col: FactLog) -> None:
    """Who holds the most seats now, and on how many tools."""
    ev = col.ev
    top = col.rows("top_holders", "seats held now by the top 5 users",
                   "topk(5, sum by (user, team) (licenses_held_by_user) > 0)", ("user", "team"), "seat")
    total = col.scalar("seats_in_use_total", "seats in use now, all tools", "sum(licenses_in_use)", "seat")
    available = col.scalar("seats_available_total", "seats free now, all tools", "sum(licenses_available)",
                           "seat")
    ev.data.update(top_holders=top, seats_in_use_total=total, seats_available_total=available)
    user = ev.subject.user or (ev.data.get("alert") or {}).get("labels", {}).get("user")
    if not user and top:
        user = top[0]["user"]
    ev.data["holder"] = user
    if not user:
        return
    held = col.scalar("holder_seats", f"seats held now by {user}",
                      f'sum(licenses_held_by_user{{user={quoted(user)}}})', "seat")
    ev.data["holder_seats"] = held or 0
    ev.data["holder_team"] = next((r["team"] for r in top if r["user"] == user), None)
    ev.data["holder_share"] = round((held or 0) / total, 3) if total else 0.0
    col.add("holder_share", f"share of all seats in use held by {user}", ev.data["holder_share"],
            f'sum(licenses_held_by_user{{user={quoted(user)}}}) / sum(licenses_in_use)', "prometheus", "ratio")
    w = wording.duration(ev.settings.window)
    mine = col.scalar(None, "", grew(f'license_checkouts_by_user_total{{user={quoted(user)}}}', "", ev.settings.window))
    everyone = col.scalar(None, "", grew("license_checkouts_by_user_total", "", ev.settings.window))
    ev.data["holder_checkout_share"] = round(mine / everyone, 3) if everyone else 0.0
    col.add("holder_checkout_share", f"share of all checkouts in the last {w} made by {user}",
            ev.data["holder_checkout_share"],
            grew(f'license_checkouts_by_user_total{{user={quoted(user)}}}', "", ev.settings.window) + " / "
            + grew("license_checkouts_by_user_total", "", ev.settings.window), "prometheus", "ratio")
    tools = set()
    if ev.data.get("server_reachable"):
        try:
            borrows = col.sources.server.borrows(user=user)
            tools = {b["tool"] for b in borrows}
            ev.data["holder_borrow_ids"] = [b["id"] for b in borrows]
            ev.data["holder_team"] = ev.data["holder_team"] or next((b.get("team") for b in borrows), None)
        except DemoError as exc:
            ev.notes.append(str(exc))
        col.add("holder_tools", f"tools on which {user} holds seats", sorted(tools),
                f"GET /api/borrows?user={user}", "server")
        col.add("holder_borrow_ids", f"borrow ids of the seats {user} holds", ev.data.get("holder_borrow_ids", []),
                f"GET /api/borrows?user={user}", "server")
    ev.data["holder_tools"] = sorted(tools)
