"""Usage facts: seats, borrows and overage per tool, the tool in focus, and how steady its demand is."""
from __future__ import annotations

from typing import TYPE_CHECKING

from license_demo.clients import DemoError
from license_demo.investigate import loaded_rules, wording
from license_demo.investigate.gathered import Demand, ToolFocus, ToolSeats, ToolUsage
from rule_source.promql import duration, grew, quoted
from license_demo.investigate.wording import plural
from rule_source import load as load_rule_settings

if TYPE_CHECKING:
    from license_demo.investigate.evidence import Evidence, FactLog

# The symptoms whose tools can be found in the data when the subject names none, and the
# per-tool figure that shows each (read from ev.usage and ev.failures).
SYMPTOM_FIGURES = {
    "overage": "overage", "overage cost": "overage", "no seats left": "exhausted", "borrows failing": "failing",
}


def tool_facts(col: FactLog) -> None:
    """Seats per tool now, borrows and overage in the window and the baseline before it."""
    ev, s = col.ev, col.ev.settings
    ws, bs = s.window, s.baseline_seconds
    span, bspan = wording.duration(ws), wording.duration(bs)
    if not col.prometheus_ok:
        # The rules read these tables; without Prometheus they are empty rather than missing.
        ev.usage = ToolUsage(tools=ev.server.catalog)
        return
    now: dict[str, dict] = {}
    for metric in ("licenses_in_use", "licenses_commit", "licenses_overage", "licenses_max_overage",
                   "licenses_available"):
        for r in col.rows(None, metric, f"sum by (tool) ({metric})", ("tool",)):
            now.setdefault(r["tool"], {})[metric.replace("licenses_", "")] = r["value"]
    tables = {}
    queries = [
        ("borrows_window", f"successful borrows per tool in the last {span}",
         grew("license_borrow_success_total", "tool", ws) + " > 0", "borrow"),
        ("overage_window", f"overage checkouts per tool in the last {span}",
         grew("license_overage_checkouts_total", "tool", ws) + " > 0", "checkout"),
        ("overage_cost_window", f"overage charges per tool in the last {span}",
         grew("license_overage_cost_dollars_total", "tool", ws) + " > 0", "$"),
        ("lease_expiries_window", f"lease expiries per tool in the last {span}",
         grew("license_lease_expirations_total", "tool", ws) + " > 0", "expiry"),
        ("config_changes_window", f"configuration changes per tool in the last {span}",
         grew("license_config_changes_total", "tool", ws) + " > 0", "change")]
    if bs:
        queries.insert(2, ("overage_baseline", f"overage checkouts per tool in the {bspan} before that",
                           grew("license_overage_checkouts_total", "tool", bs, ws) + " > 0", "checkout"))
    for key, label, expr, unit in queries:
        rows = col.rows(key, label, expr, ("tool",), unit)
        tables[key] = {r["tool"]: r["value"] for r in rows}
    ev.usage = ToolUsage(tools=ev.server.catalog or {tool: {"name": tool, **v} for tool, v in now.items()},
                         now={tool: ToolSeats(**v) for tool, v in now.items()}, **tables)


def symptom_tools(ev: Evidence) -> list[str]:
    """The tools that show the subject's symptom in the data, most affected first."""
    figure = SYMPTOM_FIGURES.get(ev.subject.symptom or "")
    now = ev.usage.now
    if figure == "overage":
        score = {t: (v.overage, ev.usage.overage_window.get(t, 0)) for t, v in now.items()}
    elif figure == "exhausted":
        score = {t: (1, v.in_use) for t, v in now.items() if v.available == 0 and v.commit + v.max_overage > 0}
    elif figure == "failing":
        score = {}
        for r in ev.failures.window:
            if r["reason"] != "exhausted" and r["tool"] != "unknown":
                score[r["tool"]] = (score.get(r["tool"], (0, 0))[0] + r["value"], 0)
    else:
        return []
    return [t for t, v in sorted(score.items(), key=lambda kv: kv[1], reverse=True) if v > (0, 0)]


def choose_tool(ev: Evidence, picked: str | None = None) -> ToolFocus:
    """The tool in focus: named (ties broken by overage seats now), from the alert, or shown by the
    symptom (`picked` by the operator among those, else the most affected)."""
    subject, usage = ev.subject, ev.usage
    if subject.tool:
        return ToolFocus(subject.tool)
    overage = lambda t: (usage.seats(t).overage, usage.overage_window.get(t, 0))  # noqa: E731
    if subject.tool_candidates:
        chosen = max(subject.tool_candidates, key=overage)
        ev.notes.append(f"{subject.text!r} matches {', '.join(subject.tool_candidates)}; "
                        f"chose {chosen}, the one with the most overage now")
        return ToolFocus(chosen)
    if ev.alert and ev.alert.labels.get("tool"):
        return ToolFocus(ev.alert.labels["tool"])
    if subject.user:
        return ToolFocus(None)
    shown = symptom_tools(ev)
    if not shown:
        return ToolFocus(None, shown)
    picked = picked if picked in shown else None
    chosen = picked or shown[0]
    if len(shown) > 1:
        ev.notes.append(f"no tool named; {', '.join(shown)} show {subject.symptom!r} in the data; "
                        f"investigated {chosen}" + ("" if picked else ", the most affected")
                        + " (name one with --tool)")
    else:
        ev.notes.append(f"no tool named; {chosen} is the one showing {subject.symptom!r} in the data")
    return ToolFocus(chosen, shown, picked)


def focus_tool(col: FactLog) -> None:
    """Record the tool in focus (None when nothing points to one); ask at a terminal when several fit."""
    ev, subject = col.ev, col.ev.subject
    alert_tool = ev.alert.labels.get("tool") if ev.alert else None
    picked = None
    if col.sources.ask_tool and not (subject.tool or subject.tool_candidates or alert_tool or subject.user):
        shown = symptom_tools(ev)
        if len(shown) > 1:
            picked = col.sources.ask_tool(shown)
    ev.focus = choose_tool(ev, picked)


def demand_facts(col: FactLog) -> None:
    """How steady the demand for the tool in focus is, its distribution over the window, its overage now."""
    ev, s, tool = col.ev, col.ev.settings, col.ev.tool
    if not tool or not col.prometheus_ok:
        ev.demand = Demand()
        return
    sel = f"tool={quoted(tool)}"
    # Steady demand: the share of the time with data in the lookback during which seats in use
    # exceeded commit (a subquery only has points where the series has samples). About 480 points
    # at most, and 1 s steps for a short window since a reset: a coarser step than the scrapes
    # can leave a burst of a few seconds between two points and read it as never above commit.
    lb, step = duration(s.lookback), duration(max(1, s.lookback // 480))
    in_use, commit = f"sum(licenses_in_use{{{sel}}})", f"sum(licenses_commit{{{sel}}})"
    points = col.scalar(None, "", f"count_over_time(({in_use})[{lb}:{step}])")
    covered = round((points or 0) * int(step[:-1]))
    # Of the time the tool was in use: idle hours after a run say nothing about whether the commit fits.
    busy_expr = f"count_over_time(({in_use} > 0)[{lb}:{step}])"
    busy = round((col.scalar(None, "", busy_expr) or 0) * int(step[:-1]))
    above = col.scalar(
        "above_commit_fraction", f"share of the {wording.duration(busy)} with {tool} seats in use in the last "
                                 f"{wording.duration(s.lookback)} with more of them than commit",
        f"sum_over_time(({in_use} > bool {commit})[{lb}:{step}]) / {busy_expr}", "ratio")
    col.add("history_covered", f"time with {tool} data in Prometheus in the last {wording.duration(s.lookback)}",
            covered, f"count_over_time(({in_use})[{lb}:{step}]) * {step[:-1]}", "prometheus", "s")
    try:
        share = load_rule_settings(s.rules_file).reading("HighOverageRate")
    except ValueError:
        share = None  # _threshold notes that the rule source cannot be read
    if share:
        col.scalar("overage_share_now", f"share of {tool} seats in use that are overage now",
                   share.query(tool=tool), share.unit)
    col.scalar("overage_seats_now", f"overage seats of {tool} in use now", f"sum(licenses_overage{{{sel}}})",
               "seat")
    samples, borrows, sample_step = _demand_distribution(col, tool)
    ev.demand = Demand(
        tool=tool, coverage_seconds=covered, busy_seconds=busy, above_commit_fraction=above or 0.0,
        samples=samples, borrows=borrows, step_seconds=sample_step, overage_threshold=_threshold(col),
        alert_for_seconds=loaded_rules.alert_for_seconds(col.sources.prometheus, "HighOverageRate"),
        rate_window_seconds=loaded_rules.rate_window_seconds(col.sources.prometheus,
                                                             "tool:license_overage_checkouts:rate"),
        **_prices(col, tool))


def _scrapes(col: FactLog, metric: str, tool: str, seconds: int) -> dict[float, float]:
    """The raw scraped samples of `metric` for `tool` over `seconds`, summed per scrape time."""
    result = col.sources.prometheus.query(f"{metric}{{tool={quoted(tool)}}}[{seconds}s]", at=col.ev.at)
    out: dict[float, float] = {}
    for series in result:
        for t, v in series.get("values", []):
            key = round(float(t), 1)
            out[key] = out.get(key, 0.0) + float(v)
    return out


def _demand_distribution(col: FactLog, tool: str) -> tuple[list[float], list[float], float]:
    """Seats in use and checkouts per scrape over the window, and the scrapes' spacing: what a new
    commit must cover. Empty when Prometheus cannot say.

    Raw scrapes rather than a range query: each sample then carries the time the server was
    read, so none taken before a reset leaks into the window.
    """
    ev, s = col.ev, col.ev.settings
    start = ev.at - s.window
    try:
        # One more minute back, to know the checkout counter just before the window.
        occupancy = _scrapes(col, "licenses_in_use", tool, s.window + 60)
        counter = _scrapes(col, "license_borrow_success_total", tool, s.window + 60)
    except DemoError as exc:
        ev.notes.append(f"seats in use over the window unavailable: {exc}")
        return [], [], Demand.step_seconds
    times = sorted(t for t in occupancy if t >= start)
    if s.since and s.since >= start - 1:
        # A reset returns every seat: the window starts from 0 seats in use at the reset, with
        # the checkout counter as the last scrape before it left it.
        before = [t for t in counter if t < s.since]
        counter[s.since] = counter[max(before)] if before else 0.0
        occupancy[s.since] = 0.0
        times = [s.since] + [t for t in times if t > s.since]
    samples = [occupancy[t] for t in times]
    # Checkouts between consecutive scrapes; a counter reset (restart) clamps to 0.
    borrows = [0.0] + [max(counter.get(b, counter.get(a, 0.0)) - counter.get(a, 0.0), 0.0)
                       for a, b in zip(times, times[1:])]
    gaps = sorted(b - a for a, b in zip(times, times[1:]) if b > a)
    step = max(1.0, round(gaps[len(gaps) // 2])) if gaps else Demand.step_seconds
    query = f"licenses_in_use{{tool={quoted(tool)}}}[{duration(s.window)}] (raw scrapes)"
    if samples:
        col.add("demand_peak", f"most {tool} seats in use at once in the last {wording.duration(s.window)} "
                               f"({plural(len(samples), 'sample')}, about one per {step:.0f} s)", max(samples),
                f"max of {query}", "prometheus", "seat")
        col.add("demand_mean", f"average {tool} seats in use over those samples",
                round(sum(samples) / len(samples), 1), f"mean of {query}", "prometheus", "seat")
    return samples, borrows, step


def _threshold(col: FactLog) -> float | None:
    """HighOverageRate's threshold from the rule source; None (with a note) when it cannot be read."""
    try:
        return float(load_rule_settings(col.ev.settings.rules_file).values["high_overage_ratio"])
    except (ValueError, KeyError, TypeError) as exc:
        col.ev.notes.append(f"alert threshold unknown ({exc}): raise-commit cannot be sized")
        return None


def _prices(col: FactLog, tool: str) -> dict[str, float | None]:
    """The live prices of the tool in focus, as the server exports them to Prometheus."""
    sel = f"tool={quoted(tool)}"
    return {"commit_cost_monthly": col.scalar("commit_cost_monthly", f"price of one {tool} commit seat a month",
                                              f"max(licenses_commit_cost_monthly_dollars{{{sel}}})", "$",
                                              default=None),
            "overage_cost": col.scalar("overage_cost", f"price of one {tool} overage checkout",
                                       f"max(licenses_overage_cost_dollars{{{sel}}})", "$", default=None)}
