"""The overage crisis: heavy DaVinci load goes into paid overage, the alert fires, commit is raised."""
from __future__ import annotations

import time

from license_demo import alert_wait, load
from license_demo.clients import DemoError
from license_demo.runner import Act, Context, Scenario

TOOL = "Vector - DaVinci Configurator SE"
FIXED = {"commit": 10, "max_overage": 10}
ALERT = "HighOverageRate"


def _measure_run(ctx: Context, label: str, before: dict, started: float) -> dict:
    """Seats, overage share and cost added by one load run, read from the server's tool API."""
    after = ctx.server.tool(TOOL)
    minutes = max((time.time() - started) / 60, 1e-6)
    cost = round(after["overage_cost_total"] - before["overage_cost_total"], 2)
    share = after["overage_in_use"] / after["in_use"] if after["in_use"] else 0.0
    result = {"seats_held": after["in_use"], "overage_seats": after["overage_in_use"],
              "overage_share": round(share, 3), "overage_cost_added": cost,
              "cost_per_minute": round(cost / minutes, 2)}
    ctx.out(f"  {label}: {after['in_use']} seats held, {after['overage_in_use']} in overage "
            f"({share:.0%}), ${cost:,.2f} of overage charges")
    return result


def _confirm_in_prometheus(ctx: Context, share: float, timeout: float = 60.0) -> None:
    """Wait until Prometheus has scraped the rerun: its overage seat share matches the server's."""
    prometheus = ctx.require_prometheus()
    expr = f'sum(licenses_overage{{tool="{TOOL}"}}) / sum(licenses_in_use{{tool="{TOOL}"}})'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = prometheus.query(expr)
        if seen and abs(float(seen[0]["value"][1]) - share) < 0.01:
            ctx.timeline.record("metrics_confirmed", source="Prometheus: overage seat share")
            ctx.timeline.measurements["overage_share_in_prometheus"] = round(float(seen[0]["value"][1]), 3)
            return
        time.sleep(1)
    raise DemoError(f"Prometheus did not show the rerun's overage share of {share:.0%} within "
                    f"{timeout:.0f}s; check that it scrapes {ctx.server.url}/metrics")


def baseline(ctx: Context) -> None:
    """A few borrows within commit: everything green."""
    alert_wait.ensure_quiet(ctx.server, ctx.alertmanager, ctx.prometheus, [ALERT],
                            ctx.alert_timeout, ctx.out)
    tool = ctx.server.tool(TOOL)
    ctx.state["config_before"] = {"commit": tool["commit"], "max_overage": tool["max_overage"]}
    ctx.out(f"  {TOOL}: commit {tool['commit']}, overage up to {tool['max_overage']}, "
            f"{tool['available']} seats free")
    for user in ("anna", "ben", "chen"):
        response = load.borrow(ctx.server, TOOL, user, "body-electronics")
        if response.status_code == 201:
            load.give_back(ctx.server, response.json()["id"])
    ctx.timeline.measurements["commit_before"] = tool["commit"]
    ctx.timeline.measurements["max_overage_before"] = tool["max_overage"]


def problem(ctx: Context) -> None:
    """The large build job: the stress test starts borrowing DaVinci seats in the background."""
    ctx.state["before_run1"] = ctx.server.tool(TOOL)
    ctx.timeline.record("problem_started", source="stress test started")
    ctx.state["load1"] = load.start_stress_test(ctx.server.url, TOOL, ctx.seed, out=ctx.out)


def detection(ctx: Context) -> None:
    """Wait for HighOverageRate on DaVinci to reach Alertmanager while the build still runs."""
    seen = alert_wait.wait_for(ctx.server, ctx.alertmanager, ALERT, True, ctx.alert_timeout,
                               match={"tool": TOOL}, progress=ctx.out)
    ctx.timeline.record("alert_received", seen.at, source=seen.source)
    ctx.out(f"  {ALERT} firing for {TOOL} (seen via {seen.source}, "
            f"{seen.at - ctx.timeline.events['problem_started']['at']:.0f}s after the load began)")


def investigation(ctx: Context) -> None:
    """Who holds the seats: Prometheus by team, the borrow ids from the server."""
    load.finish_stress_test(ctx.state["load1"])
    run1 = _measure_run(ctx, "the build job", ctx.state["before_run1"],
                        ctx.timeline.events["problem_started"]["at"])
    ctx.state["run1"] = run1
    ctx.timeline.measurements["overage_share_before_fix"] = run1["overage_share"]
    ctx.timeline.measurements["overage_cost_first_run"] = run1["overage_cost_added"]
    prometheus = ctx.require_prometheus()
    for row in prometheus.query("sort_desc(sum by (team) (licenses_held_by_user))")[:3]:
        ctx.out(f"  team {row['metric'].get('team') or '(none)'}: {float(row['value'][1]):.0f} seats held")
    borrows = ctx.server.borrows(tool=TOOL)
    overage = [b for b in borrows if b["overage"]]
    ctx.out(f"  {len(borrows)} DaVinci borrows active, {len(overage)} of them overage, e.g. "
            + ", ".join(b["id"] for b in overage[:3]))
    ctx.out('  logs: {app="license-server"} | json | event="borrow" | overage="true" '
            f'| tool="{TOOL}"')
    ctx.timeline.measurements["overage_borrows_found"] = len(overage)


def fix(ctx: Context) -> None:
    """Raise commit 5 → 10 and lower overage 15 → 10; the finished build hands its seats back."""
    tool = ctx.server.configure_tool(TOOL, **FIXED)
    ctx.timeline.record("fix_applied", source="PUT /api/config/tools")
    ctx.out(f"  {TOOL}: commit {tool['commit']}, overage up to {tool['max_overage']}")
    released = load.release_holders(ctx.server, TOOL)
    ctx.out(f"  build finished: {released['returned']} seats back from {len(released['users'])} users")
    seen = alert_wait.wait_for(ctx.server, ctx.alertmanager, ALERT, False, ctx.alert_timeout,
                               match={"tool": TOOL}, progress=ctx.out)
    ctx.timeline.record("alert_resolved", seen.at, source=seen.source)
    ctx.out(f"  {ALERT} resolved")


def verification(ctx: Context) -> None:
    """The same load again: a lower overage share and slower cost growth."""
    before = ctx.server.tool(TOOL)
    started = ctx.timeline.record("rerun_started", source="stress test started")
    load.run_stress_test(ctx.server.url, TOOL, ctx.seed, out=ctx.out)
    run2 = _measure_run(ctx, "rerun", before, started)
    run1 = ctx.state["run1"]
    ctx.timeline.measurements["overage_share_after_fix"] = run2["overage_share"]
    ctx.timeline.measurements["overage_cost_rerun"] = run2["overage_cost_added"]
    if not (run2["overage_share"] < run1["overage_share"]
            and run2["overage_cost_added"] < run1["overage_cost_added"]):
        raise DemoError(f"the rerun did not lower overage: before {run1}, after {run2}")
    _confirm_in_prometheus(ctx, run2["overage_share"])
    ctx.out(f"  overage share {run1['overage_share']:.0%} → {run2['overage_share']:.0%}, "
            f"cost per run ${run1['overage_cost_added']:,.2f} → ${run2['overage_cost_added']:,.2f}")
    if run2["overage_share"] > 0.3:
        ctx.timeline.notes.append(
            f"A greedy load that takes every seat still puts {run2['overage_share']:.0%} into overage "
            "after the fix, above the 30% threshold, so HighOverageRate may fire again during the rerun.")
    load.release_holders(ctx.server, TOOL)


SCENARIO = Scenario(
    name="overage-crisis",
    title="The overage crisis",
    story="A build job floods Vector DaVinci Configurator SE; overage seats cost money on top "
          "of the commit. We detect it, find who, raise the commit and verify with the same load.",
    acts=[
        Act("baseline", "Normal operations", baseline,
            say=["The license server lends seats of six automotive tools to several teams.",
                 "DaVinci Configurator SE has 5 prepaid commit seats and 15 overage seats billed per checkout.",
                 "Everything is green: seats free, no alert."],
            show=["{server}/dashboard", "{grafana}/d/license-business-metrics"],
            automotive="A vehicle records sensor data too, but it stays in the vehicle's memory."),
        Act("problem", "The problem appears: a large build job", problem,
            say=["A team just started a large build that borrows DaVinci seats in parallel.",
                 "Some land within commit, most go into overage: watch the cost climb."],
            show=["{server}/dashboard", "{grafana}/d/license-business-metrics"],
            automotive="The ECU logs the error, but headquarters does not know yet."),
        Act("detection", "Detection and alert", detection,
            say=["Prometheus scraped the new numbers within seconds.",
                 "HighOverageRate fired on its own; the notification links to the panel and the logs."],
            show=["{alertmanager}/#/alerts", "{prometheus}/alerts", "{server}/api/alerts?status=firing"],
            automotive="Hours to days: upload, aggregation, L1 review, tickets to L2 and L3."),
        Act("investigation", "Investigation: who is in overage", investigation,
            say=["From the alert to the graph to the log lines: one place, the same data the builders see.",
                 "Checkouts by user show the team; the logs carry borrow ids and request ids."],
            show=["{grafana}/d/license-business-metrics", "{grafana}/explore", "{server}/metrics"],
            automotive="Access requests, aggregated data, no direct link between log and error."),
        Act("fix", "Decision and fix: raise the commit", fix,
            say=["The cost panel shows the overage bill; buying commit is cheaper for this usage.",
                 "One config call: commit 5 → 10, overage 15 → 10. No ticket, no handoff."],
            show=["{server}/config", "{grafana}/d/license-business-metrics"],
            automotive="Weeks: the ticket reaches engineering, more field data, a fix, an OTA slot."),
        Act("verification", "Verification: the same load again", verification,
            say=["Same build, same load: more checkouts stay within commit.",
                 "The overage share and the cost growth are lower; if not, we would know in minutes."],
            show=["{grafana}/d/license-business-metrics", "{server}/dashboard"],
            automotive="Months until field data confirms an OTA fix."),
    ],
    phases=[("detection", "problem_started", "alert_received"),
            ("investigation and fix", "alert_received", "fix_applied"),
            ("alert resolved", "fix_applied", "alert_resolved"),
            ("verification", "alert_resolved", "metrics_confirmed")],
)
