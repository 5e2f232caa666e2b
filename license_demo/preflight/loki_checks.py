"""Loki: a probe line pushed through Loki's JSON push API, with the server's stream labels, is found
again by a query (the same API and labels the server's own log push uses; docs/contracts.md)."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import requests

from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import TIMEOUT, Targets, short_error
PUSH_PATH = "/loki/api/v1/push"
QUERY_PATH = "/loki/api/v1/query_range"
FIND_TIMEOUT = 15.0


def push_body(probe: str, at_ns: int) -> dict:
    """Loki's push body for one probe line shaped like the server's own JSON lines, in a stream
    labelled as the server labels an event outside its known set."""
    line = json.dumps({"timestamp": datetime.now(timezone.utc).isoformat(), "level": "INFO",
                       "message": "preflight probe", "event": "preflight_probe", "synthetic": True,
                       "probe": probe})
    labels = {"app": "license-server", "level": "info", "event": "other"}
    return {"streams": [{"stream": labels, "values": [[str(at_ns), line]]}]}


def check_roundtrip(targets: Targets, report: Report) -> None:
    """Push one line, then query for it."""
    probe = uuid.uuid4().hex[:12]
    pushed_ns = time.time_ns()
    body = push_body(probe, pushed_ns)
    auth = (targets.loki_user, targets.loki_password or "") if targets.loki_user else None
    try:
        pushed = requests.post(targets.loki + PUSH_PATH, json=body, auth=auth, timeout=TIMEOUT)
    except requests.RequestException as exc:
        report.fail("loki.roundtrip", f"Loki at {targets.loki} unreachable ({short_error(exc)})",
                    "start Loki (`make up`) or point --loki / LOKI_URL at it (Grafana Cloud: the Loki URL "
                    "of your stack's details page)")
        return
    if pushed.status_code in (401, 403):
        report.fail("loki.roundtrip", f"Loki refused the push (HTTP {pushed.status_code})",
                    "set LOKI_USER (Grafana Cloud: the numeric user of the Loki data source) and "
                    "LOKI_PASSWORD (an access policy token with logs:write and logs:read)")
        return
    if pushed.status_code >= 300:
        report.fail("loki.roundtrip", f"Loki refused the push (HTTP {pushed.status_code}: {pushed.text[:200]})",
                    "Loki's answer says why; its limits are in loki/loki-config.yaml")
        return
    query = f'{{app="license-server"}} |= "{probe}"'
    started = time.monotonic()
    while time.monotonic() - started < FIND_TIMEOUT:
        answer = requests.get(targets.loki + QUERY_PATH, auth=auth, timeout=TIMEOUT,
                              params={"query": query, "start": str(pushed_ns - 10**9),
                                      "end": str(time.time_ns() + 10**9), "limit": "10"})
        if answer.status_code != 200:
            report.fail("loki.roundtrip", f"Loki took the probe line but its query answered HTTP "
                                          f"{answer.status_code}: {answer.text[:200]}",
                        "the credentials need logs:read as well as logs:write (Grafana Cloud access policy)")
            return
        if any(probe in value[1] for stream in answer.json()["data"]["result"] for value in stream["values"]):
            report.ok("loki.roundtrip", f"Loki: probe line pushed and found again in {time.monotonic() - started:.1f} s")
            return
        time.sleep(0.5)
    report.fail("loki.roundtrip", f"Loki accepted the probe line but `{query}` did not find it within "
                                  f"{FIND_TIMEOUT:.0f} s",
                "push and query must reach the same tenant: check LOKI_URL (one stack, same X-Scope-OrgID), "
                "and Loki's ingester in its log")


def run(targets: Targets, report: Report) -> None:
    """The Loki check, when a Loki URL is given."""
    report.section("Loki" + (f" {targets.loki}" if targets.loki else ""))
    if not targets.loki:
        report.skip("loki.roundtrip", "no Loki URL (--loki / LOKI_URL): log search not checked")
        return
    check_roundtrip(targets, report)
