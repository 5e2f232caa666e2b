"""The incident as the spine of the story: opened by the first firing alert, fixed by a config
change, verified and resolved by the server from its own records.

- A firing alert (not `synthetic="true"`) opens an incident for its tool, or joins the tool's
  open one whatever its alert (one incident per problem: HighOverageRate and
  HighOverageCostBurn of one build job are one incident); alerts without a tool (a hoarding
  user) have one incident per alert and user. `problem_started` comes from the server's records: the first overage borrow
  of the burst for overage alerts, the first refused borrow for exhaustion, the first failed
  or refused borrow for failure spikes.
- A resolved alert leaves the incident open; the timeline says whether a fix came first.
- A config change of the tool is the fix (`action_applied`).
- Verification: once the borrows of the tool since the fix span VERIFY_WINDOW_SECONDS, number
  at least MIN_BORROWS and stay under the alert's condition (threshold from the rules
  source), and none of the incident's alerts is firing, the incident gets `verified` and `resolved`. For
  overage alerts the load must also be a real test of the fix: at its peak more seats in
  use than the commit before the fix (a light background load proves nothing).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime

import rule_source
from license_server import periodic, story_store
from license_server.logs import log_event


# Which alerts are overage, exhaustion and failure problems: the rule source's `incident` kinds.
OVERAGE_ALERTS, EXHAUSTION_ALERTS, FAILURE_ALERTS = map(rule_source.load().incident_alerts,
                                                        ("overage", "exhaustion", "failure"))
# Overage borrows further apart than this belong to separate bursts: the problem started
# at the first overage borrow after the last such quiet gap.
QUIET_GAP_SECONDS = 120
# How far back the server looks for the start of a problem.
LOOKBACK_SECONDS = 3600
# The verification needs this much load after the fix...
VERIFY_WINDOW_SECONDS = 60
MIN_BORROWS = 20
ACTOR = "license-server"
ALERT_STATES = ("alert_received", "alert_refired", "alert_resolved")
# The team named on an incident has the most checkouts of the tool from this long before
# the problem started (the commit seats a build job takes come before its overage).
TEAM_LOOKBACK_SECONDS = 300


def is_synthetic(alert: dict) -> bool:
    """Alerts a preflight check sends: recorded, but they open nothing and show on no banner."""
    return str(alert["labels"].get("synthetic", "")).lower() == "true"


def receive(store, alerts: list[dict], now: float | None = None) -> None:
    """Handle the alerts of one webhook notification (after they were recorded)."""
    now = time.time() if now is None else now
    for alert in alerts:
        labels = alert["labels"]
        name, tool, synthetic = labels.get("alertname", "unnamed"), labels.get("tool"), is_synthetic(alert)
        story_store.record_alert_event(store, now, name, tool, alert["status"], labels.get("severity"), synthetic)
        if synthetic:
            continue
        if alert["status"] == "firing":
            _open_or_join(store, alert, name, tool, now)
        else:
            _note_resolved(store, name, tool, labels.get("user"), now)


def find_open(store, name: str, tool: str | None, user: str | None = None) -> dict | None:
    """The open incident of this tool (any alert, any user), or of this alert and user when the
    alert names no tool (a hoarding user); newest first."""
    return next((r for r in story_store.open_incidents(store) if r.get("tool") == tool
                 and (tool or (r["alert"] == name and r.get("user") == user))), None)


def match_key(name: str, tool: str | None, user: str | None) -> str:
    """The key two concurrent openings of one problem share (the store keeps one open per key)."""
    return f"tool|{tool}" if tool else "|".join([name, "", user or ""])


def incident_alerts(record: dict) -> list[str]:
    """The alert names of an incident: the one that opened it first, then those that joined."""
    return record.get("alerts") or [record["alert"]]


def alert_state(record: dict, name: str) -> str | None:
    """The last alert event kind of `name` on the timeline (None: never received)."""
    states = [e["kind"] for e in record["timeline"]
              if e["kind"] in ALERT_STATES and e.get("alert", record["alert"]) == name]
    return states[-1] if states else None


def _open_or_join(store, alert: dict, name: str, tool: str | None, now: float) -> None:
    """Open the incident of a firing alert, or add the alert to the open one."""
    found = find_open(store, name, tool, alert["labels"].get("user"))
    if found is not None:
        _join(store, found, alert, name, tool, now)
        return
    started = problem_start(store, name, tool, alert, now)
    labels = alert["labels"]
    record = {"alert": name, "tool": tool, "user": labels.get("user"),
              "team": top_team(store, tool, min(started or now, now) - TEAM_LOOKBACK_SECONDS) if tool
              else labels.get("team"),
              "severity": labels.get("severity") if labels.get("severity") in ("critical", "warning", "info") else "warning",
              "summary": (alert.get("annotations") or {}).get("summary", "")[:500], "status": "open",
              "opened_at": now, "timeline": [], "reports": []}
    if started is not None:
        record["timeline"].append(_event("problem_started", started, _start_detail(name)))
    record["timeline"].append(_event("alert_received", now, f"{name} firing", name))
    record, created = store.create_incident(record, match_key(name, tool, labels.get("user")), now)
    if created:
        log_event("incident", f"incident {record['id']} opened for {name}", incident=record["id"],
                  alertname=name, tool=tool, action="opened")
    else:   # another worker opened it for the same tool a moment ago
        _join(store, record, alert, name, tool, now)


def _join(store, found: dict, alert: dict, name: str, tool: str | None, now: float) -> None:
    """Add a firing alert to an open incident: a new alert name, or a repeat, or a new firing."""
    # Read outside the update's transaction. One problem: it began at the earliest sign any
    # of its alerts reads (overage borrows come before the refusals of an exhausted tool).
    new_sign = name not in incident_alerts(found) or not any(
        e["kind"] == "problem_started" for e in found["timeline"])
    started = problem_start(store, name, tool, alert, now) if new_sign else None

    def join(record: dict) -> dict:
        kinds = [e["kind"] for e in record["timeline"]]
        names = incident_alerts(record)
        begun = [e for e in record["timeline"] if e["kind"] == "problem_started"]
        if started is not None:
            if not begun or started < begun[0]["at"]:
                record["timeline"] = [e for e in record["timeline"] if e["kind"] != "problem_started"]
                record["timeline"].append(_event("problem_started", started, _start_detail(name)))
        state = alert_state(record, name)
        if name not in names:
            record["alerts"] = names + [name]
            record["timeline"].append(_event("alert_received", now, f"{name} firing (joined this incident: same tool)", name))
        elif state is None:
            record["timeline"].append(_event("alert_received", now, f"{name} firing", name))
        elif state == "alert_resolved":     # it had resolved: this is a new firing
            fixed = "action_applied" in kinds
            record["timeline"].append(_event("alert_refired", now, f"{name} fired again" + (
                " after the fix: the fix is not enough yet" if fixed else ""), name))
        record["timeline"].sort(key=lambda e: e["at"])
        return record
    store.update_incident(found["id"], join)


def _note_resolved(store, name: str, tool: str | None, user: str | None, now: float) -> None:
    """The alert resolved: the incident stays open until a fix is verified."""
    found = find_open(store, name, tool, user)
    if found is None or name not in incident_alerts(found):
        return

    def note(record: dict) -> dict:
        fixed = any(e["kind"] == "action_applied" for e in record["timeline"])
        detail = (f"{name} resolved after the fix; the incident closes once the load stays under the threshold"
                  if fixed else f"{name} resolved without a fix; the incident stays open")
        record["timeline"].append(_event("alert_resolved", now, detail, name))
        return record
    store.update_incident(found["id"], note)


def record_fix(store, tool: str, detail: str, actor: str, now: float | None = None) -> list[str]:
    """Put a configuration change of `tool` on the timeline of its open incidents; their ids."""
    now = time.time() if now is None else now
    ids = []
    for record in story_store.open_incidents(store, tool):
        store.update_incident(record["id"], lambda r: {**r, "timeline": r["timeline"] + [
            {"kind": "action_applied", "at": now, "detail": f"configuration changed: {detail}", "by": actor}]})
        log_event("incident", f"incident {record['id']}: action_applied", incident=record["id"],
                  action="action_applied", alertname=record["alert"], tool=tool)
        ids.append(record["id"])
    return ids


def close_on_reset(store, now: float | None = None) -> list[str]:
    """A reset starts the demo afresh: open incidents are closed (no fix verified, no duration)."""
    now = time.time() if now is None else now
    closed = []
    for record in story_store.open_incidents(store):
        store.update_incident(record["id"], lambda r: {**r, "status": "resolved", "timeline": r["timeline"] + [
            _event("note", now, "closed by a reset of the demo state; no fix was verified")]})
        closed.append(record["id"])
    return closed


def problem_start(store, name: str, tool: str | None, alert: dict, now: float) -> float | None:
    """When the problem began, from the server's own records (None when they hold nothing)."""
    since = now - LOOKBACK_SECONDS
    if tool and name in OVERAGE_ALERTS:
        return burst_start(story_store.overage_borrow_times(store, tool, since))
    if tool and name in EXHAUSTION_ALERTS:
        return burst_start(story_store.refusal_times(store, tool, since, ("exhausted",)))
    if tool and name in FAILURE_ALERTS:
        return burst_start(story_store.refusal_times(store, tool, since, ("exhausted", "failed")))
    return _parse(alert.get("startsAt"))


def burst_start(times: list[float], gap: float = QUIET_GAP_SECONDS) -> float | None:
    """The first time of the last burst: after the last gap longer than `gap` (times ascending)."""
    if not times:
        return None
    start = times[-1]
    for earlier in reversed(times[:-1]):
        if start - earlier > gap:
            break
        start = earlier
    return start


def top_team(store, tool: str | None, since: float) -> str | None:
    """The team with the most checkouts of the tool since `since`."""
    counts: dict[str, int] = {}
    for row in story_store.borrows_since(store, since, tool):
        if row["team"]:
            counts[row["team"]] = counts.get(row["team"], 0) + 1
    return max(counts, key=counts.get) if counts else None


def verification(store, record: dict, thresholds: dict, now: float) -> dict | None:
    """Whether the load since the fix stays under the alert's condition: None before a fix,
    else {"ok": bool, "detail": str, "borrows": n, "share": x}."""
    fixed = _last(record, "action_applied")
    tool, name = record.get("tool"), record["alert"]
    if fixed is None or not tool:
        return None
    borrows = story_store.borrows_since(store, fixed, tool)
    count = len(borrows)
    span = now - borrows[0]["at"] if borrows else 0.0
    demand_note, demand_ok = "", True
    if name in OVERAGE_ALERTS:
        limit = thresholds["high_overage_ratio"]
        bad = sum(1 for b in borrows if b["overage"])
        share, what = (bad / count if count else 0.0), "overage share"
        old_commit = commit_before(store, record, tool)
        peak = peak_in_use(borrows)
        demand_ok = old_commit is None or peak > old_commit
        demand_note = f", peak {peak} seats in use" + (f" (commit before the fix: {old_commit})" if old_commit is not None else "")
    elif name in EXHAUSTION_ALERTS + FAILURE_ALERTS:
        kinds = ("exhausted",) if name in EXHAUSTION_ALERTS else ("exhausted", "failed")
        bad = len(story_store.refusal_times(store, tool, fixed, kinds))
        share = bad / (count + bad) if count + bad else 0.0
        limit = 1e-9 if name in EXHAUSTION_ALERTS else thresholds["borrow_failure_ratio"]
        what, count = "refused share" if name in EXHAUSTION_ALERTS else "failure share", count + bad
    else:
        return None
    names = incident_alerts(record)
    firing = sorted({a["labels"].get("alertname") for a in store.alerts(status="firing")
                     if a["labels"].get("alertname") in names and a["labels"].get("tool") == tool
                     and not is_synthetic(a)}, key=names.index)
    ok = count >= MIN_BORROWS and span >= VERIFY_WINDOW_SECONDS and share < limit and demand_ok and not firing
    still = f"; {', '.join(firing)} still firing" if firing else ""
    detail = (f"{count} borrows of {tool} in {span:.0f} s since the fix, {what} {share:.1%} "
              f"(threshold {limit:.0%}){demand_note}{still}")
    return {"ok": ok, "detail": detail, "borrows": count, "share": round(share, 4), "threshold": limit}


def peak_in_use(borrows: list[dict]) -> int:
    """The most of these borrows held at the same time."""
    changes = sorted([(b["at"], 1) for b in borrows] +
                     [(b["returned_at"], -1) for b in borrows if b["returned_at"] is not None],
                     key=lambda c: (c[0], c[1]))
    held = peak = 0
    for _, step in changes:
        held += step
        peak = max(peak, held)
    return peak


def commit_before(store, record: dict, tool: str) -> int | None:
    """The tool's commit before the first commit change since the incident opened (None: unchanged)."""
    for change in story_store.config_changes_since(store, record["opened_at"] - 1):
        if change["tool"] == tool and change["field"] == "commit":
            return int(change["old"])
    return None


def verify_open_incidents(store, thresholds: dict, now: float | None = None) -> list[str]:
    """Resolve every open incident whose fix is verified; the ids resolved."""
    now = time.time() if now is None else now
    resolved = []
    for record in story_store.open_incidents(store):
        check = verification(store, record, thresholds, now)
        if not check or not check["ok"]:
            continue

        def close(current: dict) -> dict:
            if current["status"] == "resolved":  # another worker got there first
                return current
            current["timeline"] += [_event("verified", now, check["detail"]),
                                    _event("resolved", now, "fix verified by the server's own records")]
            current["status"] = "resolved"
            return current
        after = store.update_incident(record["id"], close)
        if after and after["timeline"][-1]["at"] == now:
            log_event("incident", f"incident {record['id']} resolved: fix verified", incident=record["id"],
                      action="resolved", alertname=record["alert"], tool=record.get("tool"))
            resolved.append(record["id"])
    return resolved


def start(store, thresholds: dict, interval: float,
          stop: threading.Event | None = None) -> threading.Thread | None:
    """Check the open incidents every `interval` seconds in a daemon thread (one per worker)
    until `stop` is set."""
    return periodic.run_every(interval, lambda: verify_open_incidents(store, thresholds),
                              "incident-verifier", stop)


def _event(kind: str, at: float, detail: str, alert: str | None = None) -> dict:
    """A timeline event written by the server itself (alert events name their alert)."""
    event = {"kind": kind, "at": at, "detail": detail, "by": ACTOR}
    if alert:
        event["alert"] = alert
    return event


def _last(record: dict, kind: str) -> float | None:
    """Time of the last timeline event of `kind` (None when there is none)."""
    times = [e["at"] for e in record["timeline"] if e["kind"] == kind]
    return max(times) if times else None


def _start_detail(name: str) -> str:
    """What the problem start was taken from."""
    if name in OVERAGE_ALERTS:
        return "first overage borrow of the burst (server records)"
    if name in EXHAUSTION_ALERTS:
        return "first refused borrow (server records)"
    if name in FAILURE_ALERTS:
        return "first failed or refused borrow (server records)"
    return "alert active since (Prometheus)"


def _parse(value) -> float | None:
    """An Alertmanager time as epoch seconds (None for missing or zero times)."""
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return at if at > 0 else None
