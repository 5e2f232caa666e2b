"""The bug journey: a new version fails a share of borrows; the alert, the logs, a rollback."""
from __future__ import annotations

import time

from license_demo import alert_wait
from license_demo.journeys import load
from license_demo.clients import DemoError
from license_demo.journeys.journey_runner import Act, JourneyContext, Journey

ALERT = "BorrowFailureSpike"
FAULTS = {"borrow_errors": "50pct", "dashboard_js_error": "on"}
USERS = ["anna", "ben", "chen", "dora", "emil"]


def _traffic_window(ctx: JourneyContext, seconds: float) -> dict:
    """Let the background users run for `seconds` and return what they saw."""
    ctx.state["traffic"].take()
    time.sleep(seconds)
    return ctx.state["traffic"].take()


def baseline(ctx: JourneyContext) -> None:
    """Users borrow and return as usual; note the version running now."""
    alert_wait.ensure_quiet(ctx.server, ctx.alertmanager, ctx.prometheus, [ALERT],
                            ctx.alert_timeout, ctx.out)
    deployments = ctx.server.call("GET", "/api/deployments").json()
    current = deployments["current"]
    ctx.state["version_before"] = current
    ctx.out(f"  running version {current['version']} (commit {current['commit']})")
    tools = [t["name"] for t in ctx.server.tools()][:3]
    ctx.state["traffic"] = load.BackgroundTraffic(ctx.server, tools, USERS, ctx.rng).start()
    seen = _traffic_window(ctx, 3)
    ctx.out(f"  users borrowing: {seen['status_counts']}")


def deploy(ctx: JourneyContext) -> None:
    """Deploy the next version; it carries the bug (half of the borrows fail, the widget throws)."""
    before = ctx.state["version_before"]
    major, minor, *_ = (before["version"].split(".") + ["0", "0"])
    version = f"{major}.{int(minor) + 1 if minor.isdigit() else 1}.0"
    commit = "%07x" % ctx.rng.getrandbits(28)
    ctx.server.deploy(version, commit, faults=FAULTS)
    ctx.timeline.record("problem_started", source=f"deployed {version} ({commit})")
    ctx.timeline.measurements["faulty_version"] = f"{version} ({commit})"
    ctx.out(f"  deployed {version} (commit {commit}) with faults {FAULTS}")


def detection(ctx: JourneyContext) -> None:
    """BorrowFailureSpike reaches Alertmanager."""
    seen = alert_wait.wait_for(ctx.server, ctx.alertmanager, ALERT, True, ctx.alert_timeout,
                               progress=ctx.out)
    ctx.timeline.record("alert_received", seen.at, source=seen.source)
    ctx.out(f"  {ALERT} firing for {seen.labels.get('tool')} (seen via {seen.source})")


def investigation(ctx: JourneyContext) -> None:
    """The failing requests: their ids, the error share, the deployment just before."""
    seen = _traffic_window(ctx, 2)
    counts = seen["status_counts"]
    failed = [i for i in seen["failed_request_ids"] if i]
    attempts = sum(n for status, n in counts.items() if status.isdigit())
    share = sum(n for status, n in counts.items() if status.startswith("5")) / max(attempts, 1)
    ctx.state["failed_request_ids"] = failed[:20]
    ctx.timeline.measurements["failed_share_during_incident"] = round(share, 3)
    ctx.timeline.measurements["failed_request_ids"] = ", ".join(failed[:3])
    ctx.out(f"  {share:.0%} of borrows answer 5xx; request ids: {', '.join(failed[:3])}")
    if failed:
        ctx.out(f'  logs: {{app="license-server"}} | json | request_id="{failed[0]}"')
    history = ctx.server.call("GET", "/api/deployments").json()["history"]
    ctx.out(f"  last deployment: {history[-1]['version']} at {history[-1]['deployed_at']}: "
            "the failures started right after it")


def rollback(ctx: JourneyContext) -> None:
    """Roll back to the previous version; its faults go with it; the alert resolves."""
    result = ctx.server.rollback()
    ctx.timeline.record("fix_applied", source="POST /api/deployments/rollback")
    ctx.out(f"  rolled back to {result['current']['version']} (commit {result['current']['commit']})")
    seen = alert_wait.wait_for(ctx.server, ctx.alertmanager, ALERT, False, ctx.alert_timeout,
                               progress=ctx.out)
    ctx.timeline.record("alert_resolved", seen.at, source=seen.source)
    ctx.out(f"  {ALERT} resolved")


def verification(ctx: JourneyContext) -> None:
    """No borrow fails with 5xx any more."""
    try:
        seen = _traffic_window(ctx, 3)
    finally:
        ctx.state["traffic"].stop()
    errors = sum(n for status, n in seen["status_counts"].items() if status.startswith("5"))
    ctx.timeline.measurements["failed_after_rollback"] = errors
    if errors:
        raise DemoError(f"{errors} borrows still failed with 5xx after the rollback: {seen}")
    ctx.timeline.record("metrics_confirmed", source="client traffic")
    ctx.out(f"  after the rollback: {seen['status_counts']}, no 5xx")


JOURNEY = Journey(
    name="bug-journey",
    title="The bug journey",
    story="A new version goes out with a bug: half of the borrows fail and the dashboard's "
          "borrow widget throws. We see it, tie it to the deployment and roll back.",
    acts=[
        Act("baseline", "Normal operations", baseline,
            say=["Engineers borrow and return seats all day; every borrow succeeds.",
                 "The build-info metric shows which version runs."],
            show=["{server}/dashboard", "{grafana}/d/license-business-metrics"]),
        Act("deploy", "A new version goes out", deploy,
            say=["The team deploys a new version: a deployment annotation marks it on every graph."],
            show=["{server}/api/deployments", "{server}/dashboard"],
            automotive="A new ECU software version rolls into the fleet."),
        Act("detection", "Users cannot borrow: the alert", detection,
            say=["Users report they cannot borrow; BorrowFailureSpike already fired.",
                 "On /dashboard the borrow widget throws: the browser reports it to the server."],
            show=["{alertmanager}/#/alerts", "{server}/dashboard"],
            automotive="Field complaints trickle in over weeks."),
        Act("investigation", "Logs, request ids and the deployment", investigation,
            say=["The failing requests carry request ids; the logs show each one.",
                 "The failures start right at the deployment annotation: it was the last deploy."],
            show=["{grafana}/explore", "{server}/api/deployments"],
            automotive="Which software version, which variant? Weeks of guessing."),
        Act("rollback", "Rollback", rollback,
            say=["Roll back to the previous version: one call, seconds."],
            show=["{server}/api/deployments", "{alertmanager}/#/alerts"],
            automotive="An OTA campaign takes months."),
        Act("verification", "Borrows succeed again", verification,
            say=["The failures stop, the alert resolves, the annotation marks the rollback."],
            show=["{grafana}/d/license-business-metrics"]),
    ],
    phases=[("detection", "problem_started", "alert_received"),
            ("investigation and rollback", "alert_received", "fix_applied"),
            ("alert resolved", "fix_applied", "alert_resolved"),
            ("verification", "alert_resolved", "metrics_confirmed")],
)
