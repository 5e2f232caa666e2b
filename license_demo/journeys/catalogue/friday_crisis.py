"""The Friday-afternoon crisis: a runaway build script takes every seat of every tool."""
from __future__ import annotations

from license_demo import alert_wait
from license_demo.journeys import load
from license_demo.clients import DemoError
from license_demo.journeys.journey_runner import Act, JourneyContext, Journey

RUNAWAY_USER = "ci-nightly-build"
RUNAWAY_TEAM = "platform"
ALERTS = ("LicensesExhausted", "SingleUserHoarding")


def baseline(ctx: JourneyContext) -> None:
    """Friday 16:30: seats free on every tool (seats a failed earlier run left are returned)."""
    left = ctx.server.borrows(user=RUNAWAY_USER)
    if left:
        returned = ctx.server.force_return(RUNAWAY_USER)["returned"]
        ctx.out(f"  {returned} seats of {RUNAWAY_USER} from an earlier run returned first")
    alert_wait.ensure_quiet(ctx.server, ctx.alertmanager, ctx.prometheus, ALERTS,
                            ctx.alert_timeout, ctx.out)
    tools = ctx.server.tools()
    ctx.state["tools"] = [t["name"] for t in tools]
    free = sum(t["available"] for t in tools)
    ctx.out(f"  {len(tools)} tools, {free} seats free in total")
    ctx.timeline.measurements["seats_free_before"] = free


def runaway(ctx: JourneyContext) -> None:
    """The script borrows seat after seat on every tool until each answers 409 exhausted."""
    ctx.timeline.record("problem_started", source="runaway script started")
    taken, ids = 0, []
    for tool in ctx.state["tools"]:
        # Bounded: a tool never lends more than commit + overage seats.
        for _ in range(1000):
            response = load.borrow(ctx.server, tool, RUNAWAY_USER, RUNAWAY_TEAM)
            if response.status_code == 409:
                break
            if response.status_code != 201:
                raise DemoError(f"borrowing {tool} answered {response.status_code}: {response.text[:200]}")
            taken += 1
            ids.append(response.json()["id"])
    free = sum(t["available"] for t in ctx.server.tools())
    ctx.state["runaway_ids"] = ids
    ctx.timeline.measurements["seats_taken_by_script"] = taken
    ctx.timeline.measurements["seats_free_after_script"] = free
    ctx.out(f"  {RUNAWAY_USER} now holds {taken} seats; {free} seats free anywhere")


def detection(ctx: JourneyContext) -> None:
    """Both alerts reach Alertmanager."""
    _wait_for_alerts(ctx, firing=True)


def _wait_for_alerts(ctx: JourneyContext, firing: bool) -> None:
    """Wait for each alert to fire (or resolve); the phase moment is the first firing (last resolved)."""
    state = "received" if firing else "resolved"
    for name in ALERTS:
        # Firing counts once the webhook has it: the audience sees it on the banner.
        seen = alert_wait.wait_for(ctx.server, ctx.alertmanager, name, firing, ctx.alert_timeout,
                                   progress=ctx.out, webhook_only=True)
        ctx.timeline.record(f"{name}_{state}", seen.at, source=seen.source)
        ctx.out(f"  {name} firing (seen via {seen.source})" if firing else f"  {name} resolved")
    moments = [ctx.timeline.events[f"{n}_{state}"]["at"] for n in ALERTS]
    ctx.timeline.record(f"alert_{state}", min(moments) if firing else max(moments),
                        source=("first of " if firing else "last of ") + ", ".join(ALERTS))


def investigation(ctx: JourneyContext) -> None:
    """One user holds everything: Prometheus names them, the server lists the borrow ids."""
    prometheus = ctx.require_prometheus()
    top = prometheus.query("topk(1, sum by (user, team) (licenses_held_by_user))")
    if top:
        who = top[0]["metric"]
        ctx.out(f"  top holder: {who.get('user')} (team {who.get('team')}) with "
                f"{float(top[0]['value'][1]):.0f} seats")
        ctx.timeline.measurements["top_holder"] = who.get("user")
    borrows = ctx.server.borrows(user=RUNAWAY_USER)
    ctx.out(f"  {len(borrows)} borrows of {RUNAWAY_USER}, ids " + ", ".join(b["id"] for b in borrows[:5])
            + (" ..." if len(borrows) > 5 else ""))
    ctx.out(f'  logs: {{app="license-server"}} | json | user="{RUNAWAY_USER}" | event="borrow"')


def force_return(ctx: JourneyContext) -> None:
    """One admin call returns every seat of the script; both alerts resolve."""
    result = ctx.server.force_return(RUNAWAY_USER)
    ctx.timeline.record("fix_applied", source=f"POST /api/users/{RUNAWAY_USER}/force-return")
    ctx.timeline.measurements["seats_force_returned"] = result["returned"]
    ctx.out(f"  force-return: {result['returned']} seats back in one call")
    _wait_for_alerts(ctx, firing=False)
    # The crisis also tripped overage and exhaustion alerts on single tools; the story is
    # over only when every one of them has resolved, not just the two headline alerts.
    quiet = alert_wait.wait_all_resolved(ctx.server, ctx.alertmanager, ctx.prometheus,
                                         ctx.alert_timeout, progress=ctx.out)
    ctx.timeline.record("all_alerts_resolved", quiet, source="no alert pending or firing")
    ctx.out("  every alert the crisis caused has resolved")


def verification(ctx: JourneyContext) -> None:
    """Every tool lends seats again."""
    tools = ctx.server.tools()
    blocked = [t["name"] for t in tools if t["available"] == 0]
    if blocked:
        raise DemoError(f"still no seat free on {blocked}; check /api/borrows for other holders")
    ctx.timeline.measurements["seats_free_after_fix"] = sum(t["available"] for t in tools)
    ctx.timeline.record("metrics_confirmed", source="GET /api/tools")
    ctx.out("  every tool has free seats again; a note goes to the script owner's manager")


def cleanup(ctx: JourneyContext) -> None:
    """After a failed run: give back every seat the script still holds."""
    ctx.server.force_return(RUNAWAY_USER)


JOURNEY = Journey(
    name="friday-crisis",
    title="The Friday-afternoon crisis",
    story="16:30 on a Friday: nobody can borrow any license. One automated build script "
          "grabbed every seat; we find it and free everything with one call.",
    acts=[
        Act("baseline", "Friday afternoon, all normal", baseline,
            say=["Friday, half past four: seats free on every tool."],
            show=["{server}/dashboard"]),
        Act("runaway", "A build script runs wild", runaway,
            say=["A nightly build script started early and borrows a seat on every tool, again and again."],
            show=["{server}/dashboard", "{grafana}/d/license-business-metrics"],
            automotive="A fleet-wide fault shows as scattered field complaints first."),
        Act("detection", "Every tool exhausted: the alerts", detection,
            say=["LicensesExhausted: no tool can lend a seat.",
                 "SingleUserHoarding: one user holds far more seats than anyone should."],
            show=["{alertmanager}/#/alerts", "{server}/api/alerts?status=firing"],
            automotive="Days until support correlates the complaints."),
        Act("investigation", "Who holds the seats", investigation,
            say=["Checkouts by user: one name, every tool.",
                 "The logs give the borrow ids and show the script's pattern: one borrow after another."],
            show=["{grafana}/d/license-business-metrics", "{grafana}/explore"],
            automotive="Weeks of analysis across teams and tools."),
        Act("force-return", "Force-return everything in one call", force_return,
            say=["One admin call returns every seat the script holds.",
                 "The alerts resolve by themselves once the seats are back."],
            show=["{server}/dashboard", "{alertmanager}/#/alerts"],
            automotive="A fix needs an OTA campaign."),
        Act("verification", "Everyone can work again", verification,
            say=["Seats free everywhere. Crisis over in minutes, before the weekend."],
            show=["{server}/dashboard"]),
    ],
    phases=[("detection", "problem_started", "alert_received"),
            ("investigation and force-return", "alert_received", "fix_applied"),
            ("alerts resolved", "fix_applied", "all_alerts_resolved"),
            ("verification", "all_alerts_resolved", "metrics_confirmed")],
    cleanup=cleanup,
)
