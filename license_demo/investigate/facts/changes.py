"""Change facts: the versions seen in the window, the last version change, and failures before and after it."""
from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from license_demo.clients import DemoError
from license_demo.investigate import wording
from license_demo.investigate.gathered import Changes, VersionChange
from rule_source.promql import duration, grew, quoted
from license_demo.timestamps import epoch

if TYPE_CHECKING:
    from license_demo.investigate.evidence import FactLog


def deployment_facts(col: FactLog) -> None:
    """The versions seen in the window, the last version change and failures before and after it."""
    ev, w = col.ev, duration(col.ev.settings.window)
    versions = col.rows("versions_window", "versions reporting license_server_build_info in the last "
                                           f"{wording.duration(ev.settings.window)}",
                        f"count by (version, commit) (last_over_time(license_server_build_info[{w}]))",
                        ("version", "commit"))
    current = col.rows("version_now", "version running now", "license_server_build_info",
                       ("version", "commit"))
    change, deployment = None, None
    if ev.server.reachable:
        try:
            deployments = col.sources.server.call("GET", "/api/deployments").json()
            history = deployments.get("history", [])
            if history:
                last = history[-1]
                change = VersionChange(at=epoch(last.get("deployed_at")), action=last.get("action", "deploy"),
                                       version=last.get("version"), commit=last.get("commit"),
                                       previous=history[-2]["version"] if len(history) > 1 else None)
            deployment = deployments.get("current")
        except (DemoError, ValueError) as exc:
            ev.notes.append(f"deployments unavailable: {exc}")
    seen = Changes(versions_window=versions, version_now=current, current=deployment)
    if change and change.at and ev.at - change.at <= ev.settings.window:
        seen = _around(col, seen, change)
    elif len(versions) > 1:
        seen = replace(seen, change=VersionChange(action="deploy", version=current[0]["version"] if current else None,
                                                  commit=current[0]["commit"] if current else None))
    ev.changes = seen


def _around(col: FactLog, seen: Changes, change: VersionChange) -> Changes:
    """The change in the window, with the failed borrows of the tool in focus after and before it."""
    ev = col.ev
    # Rounded up, so the span starts at or before the change and holds its first failures.
    seconds = max(math.ceil(ev.at - change.at), 1)
    col.add("last_change", "last version change (GET /api/deployments)",
            f"{change.action} {change.version} ({change.commit}) {wording.duration(seconds)} ago",
            "GET /api/deployments", "server")
    # As long before the change as since it, but never before the server's last reset.
    since_reset = (change.at - ev.settings.since) if ev.settings.since else seconds
    before = max(0, min(seconds, int(since_reset)))
    tool = ev.tool
    sel = 'reason!="exhausted"' + (f",tool={quoted(tool)}" if tool else "")
    scope = f" of {tool}" if tool else ""
    failures = f"license_borrow_failures_total{{{sel}}}"
    after_count = col.scalar("failures_after_change", f"failed borrows{scope} (not for lack of seats) in the "
                                                      f"{wording.duration(seconds)} since the change",
                             grew(failures, "", seconds), "failure")
    before_count = col.scalar("failures_before_change", f"failed borrows{scope} (not for lack of seats) in the "
                                                        f"{wording.duration(before)} before it",
                              grew(failures, "", before, seconds), "failure") if before else 0.0
    borrows = col.scalar("borrows_after_change", f"successful borrows{scope} in the {wording.duration(seconds)} "
                                                 "since the change",
                         grew("license_borrow_success_total" + (f"{{tool={quoted(tool)}}}" if tool else ""), "",
                              seconds), "borrow")
    return replace(seen, change=change, failures_after=after_count or 0.0, failures_before=before_count or 0.0,
                   borrows_after=borrows or 0.0)
