"""Usage facts: seats, borrows and overage per tool, the tool in focus, and how steady its demand is."""
from __future__ import annotations

from typing import TYPE_CHECKING

from license_demo.investigate.facts_alerts import ALERT_SERIES
from license_demo.investigate.promql import duration, grew

if TYPE_CHECKING:
    from license_demo.investigate.evidence import Collector, Evidence


def tool_facts(col: Collector) -> None:
    """Seats per tool now, borrows and overage in the window and the window before."""
    ev, w, ws = col.ev, duration(col.ev.settings.window), col.ev.settings.window
    if not col.prometheus_ok:
        # The rules read these tables; without Prometheus they are empty rather than missing.
        ev.data.update(now_by_tool={}, overage_window={}, overage_baseline={}, borrows_window={})
        return
    now = {}
    for metric in ("licenses_in_use", "licenses_commit", "licenses_overage", "licenses_max_overage",
                   "licenses_available"):
        for r in col.rows(None, metric, f"sum by (tool) ({metric})", ("tool",)):
            now.setdefault(r["tool"], {})[metric.replace("licenses_", "")] = r["value"]
    ev.data["now_by_tool"] = now
    if not ev.data["tools"]:
        ev.data["tools"] = {tool: {"name": tool, **v} for tool, v in now.items()}
    for key, label, expr in (
            ("borrows_window", f"successful borrows per tool in the last {w}",
             grew("license_borrow_success_total", "tool", ws)),
            ("overage_window", f"overage checkouts per tool in the last {w}",
             grew("license_overage_checkouts_total", "tool", ws)),
            ("overage_baseline", f"overage checkouts per tool in the {w} before that",
             grew("license_overage_checkouts_total", "tool", ws, ws)),
            ("overage_cost_window", f"overage charges per tool in the last {w}",
             grew("license_overage_cost_dollars_total", "tool", ws)),
            ("lease_expiries_window", f"lease expiries per tool in the last {w}",
             grew("license_lease_expirations_total", "tool", ws)),
            ("config_changes_window", f"configuration changes per tool in the last {w}",
             grew("license_config_changes_total", "tool", ws) + " > 0")):
        rows = col.rows(key, label, expr, ("tool",), "$" if "cost" in key else "")
        ev.data[key] = {r["tool"]: r["value"] for r in rows}


def choose_tool(ev: Evidence) -> str | None:
    """The tool in focus: named (ties broken by overage seats now), from the alert, or the most overage."""
    subject, now = ev.subject, ev.data.get("now_by_tool", {})
    alert = ev.data.get("alert")
    if subject.tool:
        return subject.tool
    overage = lambda t: (now.get(t, {}).get("overage", 0), ev.data["overage_window"].get(t, 0))  # noqa: E731
    if subject.tool_candidates:
        chosen = max(subject.tool_candidates, key=overage)
        ev.notes.append(f"{subject.text!r} matches {', '.join(subject.tool_candidates)}; "
                        f"chose {chosen}, the one with the most overage now")
        return chosen
    if alert and alert["labels"].get("tool"):
        return alert["labels"]["tool"]
    busiest = max(now, key=overage, default=None)
    if busiest and overage(busiest)[0] > 0 and not subject.user:
        return busiest
    return None


def focus_tool(col: Collector) -> None:
    """Record the tool in focus (None when nothing points to one)."""
    col.ev.data["tool"] = choose_tool(col.ev)


def demand_facts(col: Collector) -> None:
    """How steady the demand for the tool in focus is, and its overage now."""
    ev, s, tool = col.ev, col.ev.settings, col.ev.data.get("tool")
    if not tool:
        return
    sel = f'tool="{tool}"'
    # Steady demand: the share of the lookback during which seats in use exceeded commit.
    lb, step = duration(s.lookback), duration(max(15, s.lookback // 480))
    in_use, commit = f"sum(licenses_in_use{{{sel}}})", f"sum(licenses_commit{{{sel}}})"
    ev.data["above_commit_fraction"] = col.scalar(
        "above_commit_fraction", f"share of the last {lb} with more {tool} seats in use than commit",
        f"avg_over_time(({in_use} > bool {commit})[{lb}:{step}])", "ratio")
    points = col.scalar(None, "", f"count_over_time(({in_use})[{lb}:{step}])")
    ev.data["coverage_seconds"] = col.add(
        "history_covered", f"seconds of the last {lb} with {tool} data in Prometheus",
        round((points or 0) * int(step[:-1])), f"count_over_time(({in_use})[{lb}:{step}]) * {step[:-1]}",
        "prometheus", "s")
    series = ALERT_SERIES["HighOverageRate"].format(tool=tool)
    col.scalar("overage_share_now", f"share of {tool} seats in use that are overage now",
               series, "ratio")
    col.scalar("overage_seats_now", f"overage seats of {tool} in use now",
               f'sum(licenses_overage{{{sel}}})')
