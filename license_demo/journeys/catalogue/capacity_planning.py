"""Capacity planning: a month of usage backfilled into Prometheus, and the buy-versus-overage figure."""
from __future__ import annotations

from pathlib import Path

from license_demo.journeys import backfill, history
from license_demo.clients import DemoError
from rule_source.promql import quoted
from license_demo.journeys.journey_runner import Act, JourneyContext, Journey

TOOL = "Vector - DaVinci Configurator SE"
SELECTOR = f"{{instance={quoted(history.INSTANCE)},tool={quoted(TOOL)}}}"


def generate(ctx: JourneyContext) -> None:
    """Thirty days of usage from the seed, with the catalog the server lends."""
    ctx.timeline.record("history_started", source="generator")
    tools = ctx.server.tools()
    generated = history.generate(tools, ctx.seed, days=ctx.options.get("days", 30))
    ctx.state["history"] = generated
    ctx.state["openmetrics"] = history.to_openmetrics(generated)
    ctx.timeline.record("history_generated", source=f"seed {ctx.seed}")
    ctx.out(f"  {len(generated.timestamps)} steps of {generated.step_seconds // 60} min for "
            f"{len(tools)} tools and {len(generated.held)} engineers")


def load_into_prometheus(ctx: JourneyContext) -> None:
    """promtool turns the history into blocks inside the Prometheus data dir."""
    generated = ctx.state["history"]
    data_dir = ctx.options.get("prometheus_data")
    prometheus = ctx.require_prometheus()
    if ctx.options.get("history_loaded"):
        ctx.out("  history loaded beforehand (--history-loaded): checking that Prometheus serves it")
    elif not data_dir:
        path = Path(ctx.workdir) / f"history-seed{ctx.seed}.om.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ctx.state["openmetrics"])
        raise DemoError(
            f"no --prometheus-data given: the history is in {path}. Load it into Prometheus's data "
            f"dir with `promtool tsdb create-blocks-from openmetrics --max-block-duration=768h "
            f"{path} <data dir>` (compose: see docs/journeys.md), then run this journey "
            f"again with the same --seed and --history-loaded")
    else:
        backfill.check_retention(prometheus, ctx.options.get("days", 30))
        blocks = backfill.create_blocks(ctx.state["openmetrics"], Path(data_dir))
        ctx.out(f"  {len(blocks)} blocks written into {data_dir}; Prometheus loads new blocks "
                "once a minute")
    first = generated.timestamps[0]
    backfill.wait_visible(prometheus, f"licenses_in_use{SELECTOR}", first, progress=ctx.out)
    ctx.timeline.record("history_visible", source="Prometheus query at the first generated step")


def analyse(ctx: JourneyContext) -> None:
    """Peak usage and the month's overage cost, read back from Prometheus."""
    generated = ctx.state["history"]
    prometheus = ctx.require_prometheus()
    end = generated.timestamps[-1]
    days = round((end - generated.timestamps[0]) / 86400) + 1
    peak = prometheus.scalar(f"max_over_time(licenses_in_use{SELECTOR}[{days}d])", end)
    cost = prometheus.scalar(f"license_overage_cost_dollars_total{SELECTOR}", end)
    ctx.timeline.measurements["peak_seats_in_use"] = peak
    ctx.timeline.measurements["overage_cost_month_prometheus"] = cost
    ctx.out(f"  {TOOL}: peak {peak:.0f} seats, ${cost:,.0f} overage charges this month")


def decide(ctx: JourneyContext) -> None:
    """Buy versus pay overage, computed from the data; apply the cheaper commit."""
    generated = ctx.state["history"]
    figure = history.buy_versus_overage(generated, TOOL)
    best = figure["recommended"]
    tool = generated.tools[TOOL]
    ctx.state["decision"] = figure
    ctx.timeline.record("decision_made", source="buy versus overage")
    ctx.timeline.measurements["overage_per_month_now"] = figure["overage_per_month_now"]
    ctx.timeline.measurements["recommended_extra_commit"] = best["extra_commit"]
    ctx.timeline.measurements["cost_per_month_with_extra_commit"] = best["total_per_month"]
    ctx.timeline.measurements["saving_per_month"] = figure["saving_per_month"]
    ctx.out(f"  overage costs ${figure['overage_per_month_now']:,.0f}/month; {best['extra_commit']} more "
            f"commit seats cost ${best['extra_commit_per_month']:,.0f}/month and leave "
            f"${best['overage_per_month']:,.0f} overage: saving ${figure['saving_per_month']:,.0f}/month")
    if best["extra_commit"]:
        updated = ctx.server.configure_tool(TOOL, commit=tool["commit"] + best["extra_commit"])
        ctx.out(f"  {TOOL}: commit {tool['commit']} → {updated['commit']}")
    ctx.timeline.record("fix_applied", source="PUT /api/config/tools")


JOURNEY = Journey(
    name="capacity-planning",
    title="Capacity planning",
    story="Should we buy more licenses? A month of usage answers it: peaks, the overage bill, "
          "and what more commit seats would cost instead.",
    acts=[
        Act("history", "A month of usage", generate,
            say=["Thirty days of license usage: working hours, weekdays, four teams, one of them hiring."]),
        Act("backfill", "The month in Prometheus", load_into_prometheus,
            say=["The whole month lands in Prometheus at once: the Capacity Planning dashboard fills up."],
            show=["{grafana}/d/license-capacity-planning?from=now-30d&to=now"]),
        Act("analysis", "Peaks and the overage bill", analyse,
            say=["Utilisation peaks mid-morning and mid-afternoon on weekdays; weekends are quiet.",
                 "The growing ADAS team pushes DaVinci into overage more every week."],
            show=["{grafana}/d/license-capacity-planning?from=now-30d&to=now",
                  "{prometheus}/graph?g0.expr=licenses_in_use&g0.range_input=30d"]),
        Act("decision", "Buy or keep paying overage", decide,
            say=["The overage bill against the price of commit seats: the data decides.",
                 "The same team changes the commit and watches the cost drop next month."],
            show=["{server}/config"],
            automotive="Budget decisions on yearly reports, not on live usage."),
    ],
    phases=[("generate history", "history_started", "history_generated"),
            ("backfill until visible", "history_generated", "history_visible"),
            ("analysis and decision", "history_visible", "decision_made"),
            ("apply", "decision_made", "fix_applied")],
    needs_alerting=False,
    automotive=["Weeks: usage reports gathered from each site",
                "Weeks: the reports merged by hand into one spreadsheet",
                "Months: the next budget round weighs the numbers",
                "A year: the change waits for the next license contract"],
)
