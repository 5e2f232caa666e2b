"""How an incident is shown: ISO times, durations to detect and to resolve, the Markdown report."""
from __future__ import annotations

from license_server.incident_rule import state
from license_server.timestamps import iso

LABELS = {"problem_started": "Problem started", "alert_received": "Alert received",
          "investigation_done": "Investigation done", "alert_resolved": "Alert resolved",
          "alert_refired": "Alert fired again", "action_approved": "Action approved",
          "action_declined": "Action declined", "action_applied": "Action applied",
          "verification_reported": "Verification reported", "verified": "Fix verified",
          "team_notified": "Team notified", "resolution_requested": "Resolution requested",
          "resolved": "Resolved", "closed": "Closed", "note": "Note"}


def first(record: dict, kind: str) -> float | None:
    """Time of the first timeline event of `kind`."""
    return next((e["at"] for e in record["timeline"] if e["kind"] == kind), None)


def durations(record: dict) -> dict:
    """Seconds from problem to alert (detect) and from alert to resolution (resolve)."""
    started, alerted = first(record, "problem_started"), first(record, "alert_received")
    resolved = first(record, "resolved")
    opened = alerted or record["opened_at"]
    return {"to_detect_seconds": round(alerted - started, 1) if started and alerted else None,
            "to_resolve_seconds": round(resolved - opened, 1) if resolved else None}


# The demo guide's split screen: each step of the loop measured here, beside the automotive path.
AUTOMOTIVE = (("Alert fires", "Hours: data uploaded"), ("Root cause", "Days: L1 → L2 → L3"),
              ("Fix deployed", "Weeks: analysis"), ("Verified", "Months: OTA update"),
              ("Total", "Weeks/months, 5+ teams, multiple handoffs"))


def comparison(record: dict) -> list[dict]:
    """The guide's cloud-vs-automotive rows with this incident's measured seconds (None: not yet).

    Steps: problem → alert received; alert → investigation done; investigation (or alert) →
    first fix applied; last fix → verified; problem → resolved.
    """
    started, alerted = first(record, "problem_started"), first(record, "alert_received")
    investigated, fixed = first(record, "investigation_done"), first(record, "action_applied")
    verified, resolved = first(record, "verified"), first(record, "resolved")
    last_fix = max((e["at"] for e in record["timeline"] if e["kind"] == "action_applied"
                    and (verified is None or e["at"] <= verified)), default=None)
    pairs = ((started, alerted), (alerted, investigated), (investigated or alerted, fixed),
             (last_fix, verified), (started or alerted, resolved))
    return [{"step": step, "measured_seconds": round(end - begin, 1) if begin and end else None,
             "automotive": automotive} for (step, automotive), (begin, end) in zip(AUTOMOTIVE, pairs)]


def view(record: dict) -> dict:
    """The record as the API answers it: times in RFC 3339 UTC (timestamps.iso), durations added."""
    return {**record, "state": state(record), "alerts": record.get("alerts") or [record["alert"]],
            "opened_at": iso(record["opened_at"]),
            "timeline": [{**e, "at": iso(e["at"])} for e in record["timeline"]],
            "reports": [{**r, "at": iso(r.get("at"))} for r in record.get("reports", [])],
            "approvals": [{**a, "at": iso(a.get("at"))} for a in record.get("approvals", [])],
            "durations": durations(record), "comparison": comparison(record)}


def seconds(value: float | None) -> str:
    """A duration for people: 95 -> '1 min 35 s'; None -> 'not yet'."""
    if value is None:
        return "not yet"
    minutes, secs = divmod(int(round(value)), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def step_time(value: float | None, status: str) -> str:
    """A comparison step: its duration, "not yet" while open, "not recorded" once resolved."""
    if value is None and status == "resolved":
        return "not recorded"
    return seconds(value)


def markdown(incident: dict) -> str:
    """The post-incident report (incident as returned by `view`)."""
    subject = ", ".join(f"{k} {incident[k]}" for k in ("tool", "user", "team") if incident.get(k))
    lines = [f"# {incident['id']}: {incident['alert']}" + (f" ({subject})" if subject else ""), "",
             f"- Severity: {incident['severity']}", f"- Status: {incident['state'].replace('_', ' ')}",
             f"- Opened: {incident['opened_at']}",
             f"- Time to detect: {seconds(incident['durations']['to_detect_seconds'])}",
             f"- Time to resolve: {seconds(incident['durations']['to_resolve_seconds'])}"]
    if incident.get("summary"):
        lines += ["", incident["summary"]]
    lines += ["", "## Timeline", "", "| time (UTC) | event | by | detail |", "|---|---|---|---|"]
    for event in incident["timeline"]:
        detail = event.get("detail", "").replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {event['at']} | {LABELS.get(event['kind'], event['kind'])} | "
                     f"{event.get('by', '')} | {detail} |")
    lines += ["", "## Cloud DevOps vs automotive (edge/IoT)", "",
              "| step | measured here | automotive |", "|---|---|---|"]
    for row in incident.get("comparison", []):
        lines.append(f"| {row['step']} | {step_time(row['measured_seconds'], incident['status'])} | "
                     f"{row['automotive']} |")
    for report in incident.get("reports", []):
        lines += ["", f"## Investigation report ({report.get('at')})", "", report.get("markdown", "").strip()]
    return "\n".join(lines) + "\n"
