"""The overage crisis: the guide's full-cycle build job goes into paid overage, the alert fires,
commit is raised and the same run again stays under the threshold."""
from __future__ import annotations

import time

import rule_source
from license_demo import alert_wait
from license_demo.journeys import load
from license_demo.clients import DemoError
from rule_source.promql import quoted
from license_demo.timestamps import epoch
from license_demo.journeys.journey_runner import Act, JourneyContext, Journey
from stress_test.population import BUILD_TEAM

TOOL = "Vector - DaVinci Configurator SE"
# The story's starting point (the catalog's values) and the guide's fix.
START = {"commit": 5, "max_overage": 15}
FIXED = {"commit": 10, "max_overage": 10}
ALERT = "HighOverageRate"
# The guide's Part 2 choices: heavy (20 workers x 100 operations), full cycle, DaVinci.
LOAD_PROFILE, MODE = "heavy", "full-cycle"


def threshold_of_alert() -> float:
    """HighOverageRate's threshold, which the rerun must stay under, from the rule source
    (`rule_source.default_path()`: $RULES_SOURCE_FILE, else the checkout's)."""
    return rule_source.load().threshold(ALERT)


def prepare(ctx: JourneyContext) -> dict:
    """Check the state the journey starts from and restore it; return the live figures.

    Faults on, a configuration left by an earlier rehearsal (e.g. commit 10 after a guided
    run) and seats still held on DaVinci beyond commit are each put back with one line.
    """
    for fault in ctx.server.faults():
        if fault["variant"] != "off":
            ctx.server.set_fault(fault["name"], "off")
            ctx.out(f"  fault {fault['name']} was {fault['variant']}: switched off")
    tool = ctx.server.tool(TOOL)
    config = {key: tool[key] for key in START}
    if config != START:
        tool = ctx.server.configure_tool(TOOL, **START)
        ctx.out(f"  {TOOL} was at commit {config['commit']}, overage {config['max_overage']} "
                f"from an earlier run: back to commit {START['commit']}, overage "
                f"{START['max_overage']}")
    if tool["overage_in_use"] or tool["in_use"] >= tool["commit"]:
        released = load.release_holders(ctx.server, TOOL)
        ctx.out(f"  {released['returned']} DaVinci seats still held from an earlier run: "
                "returned")
        tool = ctx.server.tool(TOOL)
    alert_wait.ensure_quiet(ctx.server, ctx.alertmanager, ctx.prometheus, [ALERT],
                            ctx.alert_timeout, ctx.out)
    return {"commit": tool["commit"], "max_overage": tool["max_overage"],
            "available": tool["available"], "cost": f"${tool['overage_cost']:,.0f}"}


def _run_options(ctx: JourneyContext, live: bool) -> dict:
    """The stress test's options for one build-job run of this journey."""
    return {"profile": LOAD_PROFILE, "mode": MODE, "team": BUILD_TEAM, "live": live,
            "ops": ctx.options.get("ops")}


def _measure_run(ctx: JourneyContext, label: str, summary: dict, cost_before: float) -> dict:
    """Borrows, overage share and cost of one run: the stress test's count and the server's bill."""
    if "granted" not in summary:
        raise DemoError("the stress test wrote no summary; see its output above")
    granted, overage = summary["granted"], summary["overage"]
    share = overage / granted if granted else 0.0
    cost = round(ctx.server.tool(TOOL)["overage_cost_total"] - cost_before, 2)
    result = {"borrows": granted, "overage_borrows": overage, "overage_share": round(share, 3),
              "overage_cost_added": cost, "duration": summary.get("duration")}
    ctx.out(f"  {label}: {granted:,} borrows, {overage:,} in overage ({share:.1%}), "
            f"${cost:,.0f} of overage charges in {summary.get('duration', 0):.0f}s")
    return result


def _alert_seen_during(ctx: JourneyContext, started: float) -> bool:
    """True when Prometheus had HighOverageRate pending or firing for DaVinci since `started`."""
    seconds = max(1, int(time.time() - started))
    expr = f"max_over_time(ALERTS{{alertname={quoted(ALERT)}, tool={quoted(TOOL)}}}[{seconds}s])"
    return bool(ctx.require_prometheus().query(expr))


def _wait_for_scrape_after(ctx: JourneyContext, moment: float, timeout: float = 15.0) -> None:
    """Wait until Prometheus has scraped the server after `moment`, so counts include the run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = ctx.require_prometheus().query('max(timestamp(up{job="license-server"}))')
        if seen and float(seen[0]["value"][1]) >= moment:
            return
        time.sleep(0.5)


def baseline(ctx: JourneyContext) -> None:
    """Normal operations: the starting configuration, everything green."""
    tool = ctx.server.tool(TOOL)
    ctx.out(f"  {TOOL}: commit {tool['commit']}, overage up to {tool['max_overage']}, "
            f"{tool['available']} seats free")
    ctx.timeline.measurements["commit_before"] = tool["commit"]
    ctx.timeline.measurements["max_overage_before"] = tool["max_overage"]


def problem(ctx: JourneyContext) -> None:
    """The large build job: the stress test starts its full cycles on DaVinci in the background."""
    ctx.state["cost_before_run1"] = ctx.server.tool(TOOL)["overage_cost_total"]
    ctx.timeline.record("problem_started", source="stress test started")
    ctx.state["load1"] = load.start_stress_test(
        ctx.server.url, TOOL, ctx.seed, out=ctx.out, **_run_options(ctx, ctx.mode == "guided"))


def detection(ctx: JourneyContext) -> None:
    """Wait for HighOverageRate on DaVinci to reach the server (the banner) while the build runs."""
    seen = alert_wait.wait_for(ctx.server, ctx.alertmanager, ALERT, True, ctx.alert_timeout,
                               match={"tool": TOOL}, progress=ctx.out, webhook_only=True)
    ctx.timeline.record("alert_received", seen.at, source=seen.source)
    ctx.out(f"  {ALERT} firing for {TOOL} (on the dashboard banner "
            f"{seen.at - ctx.timeline.events['problem_started']['at']:.0f}s after the build began)")


def investigation(ctx: JourneyContext) -> None:
    """Which team: checkouts by team over the run from Prometheus; the run's own numbers."""
    summary = load.finish_stress_test(ctx.state.pop("load1"))
    run1 = _measure_run(ctx, "the build job", summary, ctx.state["cost_before_run1"])
    ctx.state["run1"] = run1
    m = ctx.timeline.measurements
    m["overage_share_before_fix"] = run1["overage_share"]
    m["overage_cost_first_run"] = run1["overage_cost_added"]
    m["borrows_first_run"] = run1["borrows"]
    prometheus = ctx.require_prometheus()
    _wait_for_scrape_after(ctx, time.time())
    rows = prometheus.query(f'sort_desc(sum by (team) (license_checkouts_by_user_total'
                            f"{{tool={quoted(TOOL)}}}))")
    for row in rows[:3]:
        ctx.out(f"  team {row['metric'].get('team') or '(none)'}: "
                f"{float(row['value'][1]):,.0f} DaVinci checkouts since the server started")
    if rows:
        m["top_team"] = rows[0]["metric"].get("team")
    ctx.out('  logs: {app="license-server"} | json | event="borrow" | overage="true" '
            f'| tool="{TOOL}"')
    ctx.out("  trace: a line's trace_id opens the borrow in Tempo (with an OTLP endpoint; docs/tracing.md)")


def fix(ctx: JourneyContext) -> None:
    """Raise commit 5 → 10 and lower overage 15 → 10; the alert resolves once the build is over."""
    tool = ctx.server.configure_tool(TOOL, **FIXED)
    ctx.timeline.record("fix_applied", source="PUT /api/config/tools")
    ctx.out(f"  {TOOL}: commit {tool['commit']}, overage up to {tool['max_overage']}")
    seen = alert_wait.wait_for(ctx.server, ctx.alertmanager, ALERT, False, ctx.alert_timeout,
                               match={"tool": TOOL}, progress=ctx.out)
    ctx.timeline.record("alert_resolved", seen.at, source=seen.source)
    ctx.out(f"  {ALERT} resolved")


def verification(ctx: JourneyContext) -> None:
    """The same build job again: under the threshold, no alert, a smaller bill."""
    # The first run's alert may still be pending or firing in Prometheus after Alertmanager
    # and the webhook show it resolved: the rerun starts only once it is gone everywhere.
    alert_wait.ensure_quiet(ctx.server, ctx.alertmanager, ctx.prometheus, [ALERT],
                            ctx.alert_timeout, ctx.out)
    cost_before = ctx.server.tool(TOOL)["overage_cost_total"]
    started = ctx.timeline.record("rerun_started", source="stress test started")
    summary = load.run_stress_test(ctx.server.url, TOOL, ctx.seed, out=ctx.out,
                                   **_run_options(ctx, ctx.mode == "guided"))
    run2 = _measure_run(ctx, "the same job after the fix", summary, cost_before)
    run1 = ctx.state["run1"]
    m = ctx.timeline.measurements
    m["overage_share_after_fix"] = run2["overage_share"]
    m["overage_cost_rerun"] = run2["overage_cost_added"]
    m["borrows_rerun"] = run2["borrows"]
    m["alert_during_rerun"] = _alert_seen_during(ctx, started)
    if not (run2["overage_share"] < run1["overage_share"]
            and run2["overage_cost_added"] < run1["overage_cost_added"]):
        raise DemoError(f"the rerun did not lower overage: before {run1}, after {run2}")
    ctx.timeline.record("metrics_confirmed", source="stress test summary and GET /api/tools")
    threshold = threshold_of_alert()
    ctx.out(f"  overage share {run1['overage_share']:.1%} → {run2['overage_share']:.1%} "
            f"(threshold {threshold:.0%}), cost per run ${run1['overage_cost_added']:,.0f} → "
            f"${run2['overage_cost_added']:,.0f}; {ALERT} during the rerun: "
            + ("pending or firing" if m["alert_during_rerun"] else "neither pending nor firing"))
    _incident_outcome(ctx)
    if run2["overage_share"] >= threshold or m["alert_during_rerun"]:
        ctx.timeline.notes.append(
            f"The rerun still put {run2['overage_share']:.0%} of its borrows into overage"
            + (f" and {ALERT} went pending or fired" if m["alert_during_rerun"] else "")
            + ": the fix is not enough for this load.")


def _incident_outcome(ctx: JourneyContext) -> None:
    """Wait for the server to verify the fix and resolve the run's incident (borrows under the
    threshold over its quiet window, docs/pages.md); record its time to detect and to resolve."""
    since = ctx.timeline.events["problem_started"]["at"]

    def ours() -> dict | None:
        return next((i for i in ctx.server.incidents() if i["tool"] == TOOL and ALERT in i["alerts"]
                     and epoch(i["opened_at"]) >= since - 1), None)

    incident = ours()
    if incident is None:
        ctx.timeline.notes.append(f"The server opened no incident for {ALERT} on {TOOL} in this run.")
        return
    ctx.out(f"  incident {incident['id']}: waiting for the server to verify the fix (borrows under the "
            "threshold over its quiet window)...")
    deadline = time.monotonic() + ctx.alert_timeout
    while incident["status"] != "resolved" and time.monotonic() < deadline:
        time.sleep(2)
        incident = ours() or incident
    if incident["status"] != "resolved":
        ctx.timeline.notes.append(f"Incident {incident['id']} is still open after {ctx.alert_timeout:.0f} s: "
                                  f"its timeline on {ctx.server.url}/incidents/{incident['id']} says why.")
        ctx.out(f"  incident {incident['id']} still open ({ctx.server.url}/incidents/{incident['id']})")
        return
    durations = incident["durations"]
    resolved_at = max(e["at"] for e in incident["timeline"] if e["kind"] == "resolved")
    ctx.timeline.record("incident_resolved", epoch(resolved_at), source=f"GET /api/incidents ({incident['id']})")
    m = ctx.timeline.measurements
    m["incident_to_detect_seconds"] = durations["to_detect_seconds"]
    m["incident_to_resolve_seconds"] = durations["to_resolve_seconds"]
    ctx.out(f"  incident {incident['id']} resolved by the server: detected {durations['to_detect_seconds']:.0f}s "
            f"after the first overage borrow, resolved {durations['to_resolve_seconds']:.0f}s after the alert")


def cleanup(ctx: JourneyContext) -> None:
    """After a failed run: the build job's seats go back (the stress test returns its own on stop)."""
    load.release_holders(ctx.server, TOOL)


JOURNEY = Journey(
    name="overage-crisis",
    title="The overage crisis",
    story="A build job floods Vector DaVinci Configurator SE; overage seats cost money on top "
          "of the commit. We detect it, find the team, raise the commit and verify with the "
          "same job.",
    acts=[
        Act("baseline", "Normal operations", baseline,
            say=["The license server lends seats of six automotive tools to several teams.",
                 "DaVinci Configurator SE has {commit} prepaid commit seats and {max_overage} "
                 "overage seats, {cost} per overage checkout.",
                 "Everything is green: seats free, no alert."],
            show=["{server}/dashboard", "{grafana}/d/license-business-metrics"],
            automotive="A vehicle records sensor data too, but it stays in the vehicle's memory.",
            facts=prepare),
        Act("problem", "The problem appears: a large build job", problem,
            say=["A team just started a large build: 20 agents borrowing and returning DaVinci seats.",
                 "Whenever all commit seats are out, a borrow goes into overage: watch the cost climb."],
            show=["{server}/dashboard", "{grafana}/d/license-business-metrics"],
            automotive="The ECU logs the error, but headquarters does not know yet."),
        Act("detection", "Detection and alert", detection,
            say=["Prometheus scraped the new numbers within seconds.",
                 "HighOverageRate fired on its own; the notification links to the panel and the logs."],
            show=["{server}/dashboard", "{alertmanager}/#/alerts", "{prometheus}/alerts",
                  "{server}/api/alerts?status=firing"],
            automotive="Hours to days: upload, aggregation, L1 review, tickets to L2 and L3."),
        Act("investigation", "Investigation: who is in overage", investigation,
            say=["From the alert to the graph to the log lines: one place, the same data the builders see.",
                 "Checkouts by team show who runs the job; the logs carry borrow ids and request ids.",
                 "With traces on (make up), a borrow line's trace_id opens its trace: the stress test's "
                 "attempt, the request, the transaction, the allocation decision, each SQL statement."],
            show=["{grafana}/d/license-business-metrics", "{grafana}/explore", "{server}/metrics"],
            automotive="Access requests, aggregated data, no direct link between log and error."),
        Act("fix", "Decision and fix: raise the commit", fix,
            say=["The cost panel shows the overage bill; buying commit is cheaper for this usage.",
                 "One config change: commit 5 → 10, overage 15 → 10. No ticket, no handoff."],
            show=["{server}/config", "{grafana}/d/license-business-metrics"],
            automotive="Weeks: the ticket reaches engineering, more field data, a fix, an OTA slot."),
        Act("verification", "Verification: the same load again", verification,
            say=["Same build, same load: most checkouts stay within commit now.",
                 "The overage share stays under the threshold and no alert fires; if not, we would know in minutes."],
            show=["{grafana}/d/license-business-metrics", "{server}/dashboard"],
            automotive="Months until field data confirms an OTA fix."),
    ],
    phases=[("detection", "problem_started", "alert_received"),
            ("investigation and fix", "alert_received", "fix_applied"),
            ("alert resolved", "fix_applied", "alert_resolved"),
            ("verification", "alert_resolved", "metrics_confirmed")],
    cleanup=cleanup,
)
