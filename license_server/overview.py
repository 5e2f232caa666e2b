"""GET /api/overview: what the dashboard shows besides the seats, from the server's own data.

- the open incident (alert, tool, the team with the most checkouts since it began, how long
  it has been open, time to detect), or with none open the last one verified in the window;
- the overage share per tool over the last 15 minutes in 30 s buckets, with the alert
  threshold (from the rules source) and markers where the configuration changed and where
  alerts fired and resolved;
- the last two runs of the tool in focus: borrows, overage share, overage cost. A run is
  the borrows sent with one `X-Run-ID`, or, for borrows without one, a burst of borrows of
  the tool with no gap longer than RUN_GAP_SECONDS.
"""
from __future__ import annotations

import time

from flask import current_app
from marshmallow import Schema, fields, validate

from license_server import incident_report, incident_rule, story_store
from license_server.db import get_store
from license_server.openapi import Blueprint
from license_server.timestamps import iso

bp = Blueprint("overview", __name__, url_prefix="/api/overview",
               description="The incident, the verification chart and the per-run table of /dashboard.")
WINDOW_SECONDS = 15 * 60
BUCKET_SECONDS = 30
RUN_GAP_SECONDS = 30
# Runs are looked for this far back, so "the previous run" may be older than the chart.
RUN_LOOKBACK_SECONDS = 2 * 3600
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


class OverviewQuerySchema(Schema):
    """GET /api/overview."""

    minutes = fields.Integer(load_default=15, validate=validate.Range(min=1, max=120,
                             error="Must be a whole number of minutes from 1 to 120."))


@bp.get("")
@bp.arguments(OverviewQuerySchema(), location="query")
@bp.response(200)
def overview(query):
    """The open incident, the overage share per tool with threshold and markers, the last two runs."""
    store, now = get_store(), time.time()
    thresholds = current_app.extensions["incident_policy"].thresholds
    since = now - query["minutes"] * 60
    borrows = story_store.borrows_since(store, min(since, now - RUN_LOOKBACK_SECONDS))
    incident = focus_incident(store, now, since)
    recent = [b for b in borrows if b["at"] >= since]
    focus = (incident or {}).get("tool") or _busiest_overage_tool(recent)
    return {"now": now, "since": since, "bucket_seconds": BUCKET_SECONDS,
            "threshold": thresholds["high_overage_ratio"], "incident": incident,
            "series": share_series(recent, since, now), "markers": markers(store, since),
            "focus_tool": focus,
            "runs": runs([b for b in borrows if b["tool"] == focus])[-2:][::-1] if focus else []}


def focus_incident(store, now: float, since: float) -> dict | None:
    """The incident to show: the most severe open one, then the newest; with none open, the
    last one whose fix was verified within the window (the payoff of the verification)."""
    open_ones = story_store.open_incidents(store)
    if open_ones:
        record = sorted(open_ones, key=lambda r: (SEVERITY_ORDER.get(r["severity"], 3), -r["opened_at"]))[0]
    else:
        verified = [r for r in store.list_incidents("resolved", limit=20)
                    if (incident_report.first(r, "verified") or 0) >= since]
        if not verified:
            return None
        record = verified[0]
    started = incident_report.first(record, "problem_started")
    since_team = min(started or record["opened_at"], record["opened_at"]) - incident_rule.TEAM_LOOKBACK_SECONDS
    team = (incident_rule.top_team(store, record["tool"], since_team) if record.get("tool") else None) \
        or record.get("team")
    view = incident_report.view(record)
    kinds = [e["kind"] for e in record["timeline"]]
    resolved_at = incident_report.first(record, "resolved")
    return {"id": record["id"], "alert": record["alert"],
            "other_alerts": incident_rule.incident_alerts(record)[1:],
            "tool": record.get("tool"), "user": record.get("user"),
            "team": team, "severity": record["severity"], "status": record["status"],
            "open_seconds": round((resolved_at or now) - record["opened_at"]),
            "to_detect_seconds": view["durations"]["to_detect_seconds"],
            "to_resolve_seconds": view["durations"]["to_resolve_seconds"],
            "alert_resolved": all(incident_rule.alert_state(record, name) == "alert_resolved"
                                  for name in incident_rule.incident_alerts(record)),
            "fixed": "action_applied" in kinds, "others_open": max(0, len(open_ones) - 1),
            "verification": incident_rule.verification(store, record, current_app.extensions["incident_policy"],
                                                           now) if record["status"] != "resolved" else None}


def _busiest_overage_tool(borrows: list[dict]) -> str | None:
    """The tool with the most overage borrows (None when nothing went into overage)."""
    counts: dict[str, int] = {}
    for b in borrows:
        if b["overage"]:
            counts[b["tool"]] = counts.get(b["tool"], 0) + 1
    return max(counts, key=counts.get) if counts else None


def share_series(borrows: list[dict], since: float, now: float) -> dict[str, list]:
    """Per tool with borrows: [[bucket start, borrows, overage borrows], ...] over the window."""
    start = since - since % BUCKET_SECONDS
    count = int((now - start) // BUCKET_SECONDS) + 1
    series: dict[str, list] = {}
    for b in borrows:
        buckets = series.setdefault(b["tool"], [[start + i * BUCKET_SECONDS, 0, 0] for i in range(count)])
        index = min(count - 1, int((b["at"] - start) // BUCKET_SECONDS))
        buckets[index][1] += 1
        buckets[index][2] += int(b["overage"])
    return series


def markers(store, since: float) -> list[dict]:
    """Config changes (one per tool and instant) and alert notifications since `since`, oldest first."""
    found: dict[tuple, dict] = {}
    for change in story_store.config_changes_since(store, since):
        key = ("config", change["tool"], round(change["at"], 1))
        marker = found.setdefault(key, {"at": change["at"], "kind": "config_change", "tool": change["tool"],
                                        "text": f"config change by {change['actor']}:"})
        marker["text"] += f" {change['field']} {_plain(change['old'])} → {_plain(change['new'])}"
    for event in story_store.alert_events(store, since):
        kind = "alert_firing" if event["status"] == "firing" else "alert_resolved"
        key = (kind, event["alertname"], event["tool"])
        previous = [m for k, m in found.items() if k[1:3] == key[1:3] and k[0] in ("alert_firing", "alert_resolved")]
        # Alertmanager repeats a firing notification; only the change of state is a marker.
        if previous and previous[-1]["kind"] == kind:
            continue
        found[(kind, event["alertname"], event["tool"], event["at"])] = {
            "at": float(event["at"]), "kind": kind, "tool": event["tool"],
            "text": f"{event['alertname']} {event['status']}"}
    return sorted(found.values(), key=lambda m: m["at"])


def runs(borrows: list[dict]) -> list[dict]:
    """The borrows of one tool (oldest first) split into runs, oldest first."""
    groups: list[list[dict]] = []
    by_id: dict[str, list[dict]] = {}
    for b in borrows:
        if b["run_id"]:
            if b["run_id"] not in by_id:
                by_id[b["run_id"]] = []
                groups.append(by_id[b["run_id"]])
            by_id[b["run_id"]].append(b)
        elif groups and not groups[-1][0]["run_id"] and b["at"] - groups[-1][-1]["at"] <= RUN_GAP_SECONDS:
            groups[-1].append(b)
        else:
            groups.append([b])
    result = []
    for group in sorted(groups, key=lambda g: g[0]["at"]):
        overage = sum(1 for b in group if b["overage"])
        result.append({"run_id": group[0]["run_id"], "started_at": iso(group[0]["at"]),
                       "ended_at": iso(group[-1]["at"]), "borrows": len(group),
                       "overage_borrows": overage, "overage_share": round(overage / len(group), 4),
                       "overage_cost": round(sum(b["cost"] for b in group), 2)})
    return result


def _plain(value):
    """5.0 as 5."""
    return int(value) if value is not None and float(value).is_integer() else value
