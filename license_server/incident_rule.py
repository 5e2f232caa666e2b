"""The incident rule: the one owner of an incident's state, open → fix applied → verified →
resolved (or closed by a reset). Every other part reports what it saw as timeline events:
the webhook (alerts), config changes and approvals (fixes), clients through
`PATCH /api/incidents/<id>` (`incident_api.py`): investigations, applied actions, notes,
their own verifications. Only the functions here change `status`, and the same rule holds
whoever reports.

- A firing alert (not `synthetic="true"`) opens an incident for its tool, or joins the tool's
  open one whatever its alert (one incident per problem: HighOverageRate and
  HighOverageCostBurn of one build job are one incident); alerts without a tool (a hoarding
  user) have one incident per alert and user. `problem_started` comes from the server's records: the first overage borrow
  of the burst for overage alerts, the first refused borrow for exhaustion, the first failed
  or refused borrow for failure spikes.
- A resolved alert leaves the incident open; the timeline says whether a fix came first.
- A fix is an `action_applied` event: a config change of the tool (recorded here by
  `record_fix`), an approved proposal, or an action a client reports having applied.
- Verification comes from the server's own data, never from a client's word:
  - overage, exhaustion and failure alerts on a tool: once the borrows of the tool since
    the fix span the policy's `verify_seconds`, number at least its `min_borrows` and stay
    under the alert's condition (threshold from the rule source), and none of the incident's alerts
    is firing. For overage alerts the load must also be a real test of the fix: at its
    peak more seats in use than the commit before the fix (a light background load proves
    nothing);
  - other alerts (a hoarding user, a version): every alert of the incident resolved, as
    Alertmanager notified the webhook, after the fix;
  - an incident no alert backs (a hand-started investigation): there is nothing of the
    server's to measure, so a verification the client reports after the fix is taken.
  The incident then gets `verified` and `resolved` at once.
- A client's `verified` or `resolved` is recorded as `verification_reported` or
  `resolution_requested` and changes nothing else; `waiting_for` says what the server
  still needs.
- A reset closes the open incidents (`status` `closed`, event `closed`): no fix verified.

What the rule decides with (which alerts are which problem, the thresholds, the verification
window) comes in as a `Policy` that create_app builds from its settings and the rule source.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import rule_source
from license_server import periodic, story_store
from license_server.logs import log_event
from license_server.timestamps import epoch


# Overage borrows further apart than this belong to separate bursts: the problem started
# at the first overage borrow after the last such quiet gap.
QUIET_GAP_SECONDS = 120
# How far back the server looks for the start of a problem.
LOOKBACK_SECONDS = 3600
ACTOR = "license-server"
ALERT_STATES = ("alert_received", "alert_refired", "alert_resolved")
OPEN, RESOLVED, CLOSED = "open", "resolved", "closed"
STATUSES = (OPEN, RESOLVED, CLOSED)
# What a client sees (`state`): the status, an open one told apart by its fix. The server
# writes `verified` and `resolved` at the same instant, so no incident rests in "verified".
STATES = (OPEN, "fix_applied", RESOLVED, CLOSED)
SEVERITIES = ("critical", "warning", "info")
# The timeline's event kinds, in the order an incident normally goes through them.
EVENT_KINDS = ("problem_started", "alert_received", "investigation_done", "alert_resolved", "action_approved",
               "action_declined", "action_applied", "alert_refired", "verification_reported", "verified",
               "team_notified", "resolution_requested", "resolved", "closed", "note")
# Kinds only this module writes; a client sending verified or resolved is recorded as its report.
REPORTED_AS = {"verified": "verification_reported", "resolved": "resolution_requested"}
CLIENT_KINDS = tuple(kind for kind in EVENT_KINDS if kind != "closed")
# The team named on an incident has the most checkouts of the tool from this long before
# the problem started (the commit seats a build job takes come before its overage).
TEAM_LOOKBACK_SECONDS = 300


@dataclass(frozen=True)
class Policy:
    """What the rule decides with: the alerts of each kind the server measures from its own
    borrows (overage, exhaustion, failure: the rule source's `incident:`), its thresholds, and
    the load after a fix that verifies it (seconds it spans, borrows it counts)."""

    kinds: dict[str, tuple[str, ...]]
    thresholds: dict[str, float]
    verify_seconds: float
    min_borrows: int

    @classmethod
    def from_rules(cls, rules, verify_seconds: float, min_borrows: int) -> "Policy":
        """The policy of a loaded rule source (rule_source.load) and the verification window."""
        return cls({kind: rules.incident_alerts(kind) for kind in rule_source.INCIDENT_KINDS}, dict(rules.thresholds),
                   float(verify_seconds), int(min_borrows))

    def kind(self, name: str) -> str | None:
        """Which measured problem alert `name` is (overage, exhaustion, failure), else None."""
        return next((kind for kind, names in self.kinds.items() if name in names), None)


def new_record(alert: str, tool: str | None, user: str | None, team: str | None, severity: str | None,
               summary: str | None, now: float, timeline: list[dict]) -> dict:
    """The one shape of an incident record (store/incidents.py keeps it as JSON), open."""
    return {"alert": alert, "tool": tool, "user": user, "team": team,
            "severity": severity if severity in SEVERITIES else "warning", "summary": (summary or "")[:500],
            "status": OPEN, "opened_at": now, "timeline": sorted(timeline, key=lambda e: e["at"]), "reports": []}


def state(record: dict) -> str:
    """Where the incident is: open, fix_applied, resolved or closed."""
    if record["status"] != OPEN:
        return record["status"]
    return "fix_applied" if any(e["kind"] == "action_applied" for e in record["timeline"]) else OPEN


def is_synthetic(alert: dict) -> bool:
    """Alerts a preflight check sends: recorded, but they open nothing and show on no banner."""
    return str(alert["labels"].get("synthetic", "")).lower() == "true"


def receive(store, alerts: list[dict], policy: Policy, now: float | None = None) -> None:
    """Handle the alerts of one webhook notification (after they were recorded); a resolved
    alert has the open incidents checked at once."""
    now = time.time() if now is None else now
    for alert in alerts:
        labels = alert["labels"]
        name, tool, synthetic = labels.get("alertname", "unnamed"), labels.get("tool"), is_synthetic(alert)
        story_store.record_alert_event(store, now, name, tool, alert["status"], labels.get("severity"), synthetic)
        if synthetic:
            continue
        if alert["status"] == "firing":
            _open_or_join(store, policy, alert, name, tool, now)
        else:
            _note_resolved(store, name, tool, labels.get("user"), now)
    if any(a["status"] != "firing" and not is_synthetic(a) for a in alerts):
        verify_open_incidents(store, policy, now)


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
    """The last alert event kind of `name` the webhook put on the timeline (None: never received)."""
    events = _alert_events(record, name)
    return events[-1]["kind"] if events else None


def _alert_events(record: dict, name: str) -> list[dict]:
    """The webhook's events of alert `name` (not what clients reported), oldest first."""
    return sorted((e for e in record["timeline"] if e["kind"] in ALERT_STATES and not e.get("reported")
                   and e.get("alert", record["alert"]) == name), key=lambda e: e["at"])


def _open_or_join(store, policy: Policy, alert: dict, name: str, tool: str | None, now: float) -> None:
    """Open the incident of a firing alert, or add the alert to the open one."""
    found = find_open(store, name, tool, alert["labels"].get("user"))
    if found is not None:
        _join(store, policy, found, alert, name, tool, now)
        return
    kind = policy.kind(name)
    started = problem_start(store, kind, tool, alert, now)
    labels = alert["labels"]
    timeline = [_event("problem_started", started, _start_detail(kind))] if started is not None else []
    timeline.append(_event("alert_received", now, f"{name} firing", name))
    team = top_team(store, tool, min(started or now, now) - TEAM_LOOKBACK_SECONDS) if tool else labels.get("team")
    record = new_record(name, tool, labels.get("user"), team, labels.get("severity"),
                        (alert.get("annotations") or {}).get("summary", ""), now, timeline)
    record, created = store.create_incident(record, match_key(name, tool, labels.get("user")), now)
    if created:
        log_event("incident", f"incident {record['id']} opened for {name}", incident=record["id"],
                  alertname=name, tool=tool, action="opened")
    else:   # another worker opened it for the same tool a moment ago
        _join(store, policy, record, alert, name, tool, now)


def _join(store, policy: Policy, found: dict, alert: dict, name: str, tool: str | None, now: float) -> None:
    """Add a firing alert to an open incident: a new alert name, or a repeat, or a new firing."""
    # Read outside the update's transaction. One problem: it began at the earliest sign any
    # of its alerts reads (overage borrows come before the refusals of an exhausted tool).
    new_sign = name not in incident_alerts(found) or not any(
        e["kind"] == "problem_started" for e in found["timeline"])
    kind = policy.kind(name)
    started = problem_start(store, kind, tool, alert, now) if new_sign else None

    def join(record: dict) -> dict:
        kinds = [e["kind"] for e in record["timeline"]]
        names = incident_alerts(record)
        begun = [e for e in record["timeline"] if e["kind"] == "problem_started"]
        if started is not None:
            if not begun or started < begun[0]["at"]:
                record["timeline"] = [e for e in record["timeline"] if e["kind"] != "problem_started"]
                record["timeline"].append(_event("problem_started", started, _start_detail(kind)))
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
        detail = (f"{name} resolved after the fix; the incident is resolved once the server verifies the fix"
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


def close_on_reset(store, actor: str, now: float | None = None) -> list[str]:
    """A reset starts the demo afresh: open incidents are closed, not resolved (no fix was
    verified, no time to resolve); their ids."""
    now = time.time() if now is None else now
    closed = []
    for record in story_store.open_incidents(store):
        detail = f"closed by a reset of the demo state ({actor}); no fix was verified"
        store.update_incident(record["id"], lambda r: {**r, "status": CLOSED, "timeline": r["timeline"] + [
            _event("closed", now, detail)]} if r["status"] == OPEN else r)
        log_event("incident", f"incident {record['id']} closed by a reset", incident=record["id"],
                  action="closed", alertname=record["alert"], tool=record.get("tool"))
        closed.append(record["id"])
    return closed


def open_reported(store, report: dict, actor: str, now: float | None = None) -> tuple[dict, bool]:
    """A client's report of an incident (POST /api/incidents): join the open one of the same tool
    (without a tool: of the same alert and user), else open one; (record, created). The alert
    times the client saw go on the timeline where it has none yet."""
    now = time.time() if now is None else now
    alert, tool, user = report["alert"], report.get("tool"), report.get("user")
    seen = [_reported({"kind": kind, "at": report[f"{kind}_at"], "detail": "", "by": actor})
            for kind in ("problem_started", "alert_received") if report.get(f"{kind}_at")]
    # An incident the alert itself opened (no user) is the one to join, whoever is named.
    found = find_open(store, alert, tool, user)
    if found is None:
        record = new_record(alert, tool, user, report.get("team"), report.get("severity"), report.get("summary"),
                            now, seen)
        found, created = store.create_incident(record, match_key(alert, tool, user), now)
        if created:
            log_event("incident", f"incident {found['id']} opened for {alert}", incident=found["id"],
                      alertname=alert, tool=tool, user=user, action="opened")
            return found, True

    def refresh(record: dict) -> dict:
        """A repeated investigation: newer summary and severity, and alert times the first one lacked."""
        have = {e["kind"] for e in record["timeline"]}
        record["timeline"] = sorted(record["timeline"] + [e for e in seen if e["kind"] not in have],
                                    key=lambda e: e["at"])
        record["summary"] = (report.get("summary") or record.get("summary", ""))[:500]
        record["severity"] = report.get("severity") if report.get("severity") in SEVERITIES else record["severity"]
        return record
    return store.update_incident(found["id"], refresh), False


def add_reported(record: dict, events: list[dict]) -> dict:
    """Put what a client reports on the timeline, marked as reported: a `verified` or `resolved`
    becomes `verification_reported` or `resolution_requested`; the status is left to the rule."""
    record["timeline"] = sorted(record["timeline"] + [_reported(e) for e in events], key=lambda e: e["at"])
    return record


def _reported(event: dict) -> dict:
    """A client's event as the timeline keeps it."""
    return {**event, "kind": REPORTED_AS.get(event["kind"], event["kind"]), "reported": True}


def problem_start(store, kind: str | None, tool: str | None, alert: dict, now: float) -> float | None:
    """When the problem of an alert of `kind` (Policy.kind) began, from the server's own records
    (None when they hold nothing)."""
    since = now - LOOKBACK_SECONDS
    if tool and kind == "overage":
        return burst_start(story_store.overage_borrow_times(store, tool, since))
    if tool and kind == "exhaustion":
        return burst_start(story_store.refusal_times(store, tool, since, ("exhausted",)))
    if tool and kind == "failure":
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


def measured_group(record: dict, policy: Policy) -> tuple[str, str] | None:
    """(group, alert) when the server can measure the incident's condition from its own
    borrows: the first of its alerts that is an overage, exhaustion or failure alert on a tool."""
    if not record.get("tool"):
        return None
    return next(((policy.kind(name), name) for name in incident_alerts(record) if policy.kind(name)), None)


def verification(store, record: dict, policy: Policy, now: float) -> dict | None:
    """The server's check of the fix: None before a fix, else {"ok": bool, "detail": str, ...}
    (measured incidents add "borrows", "share" and "threshold")."""
    fixed = _last(record, "action_applied")
    if fixed is None:
        return None
    names = incident_alerts(record)
    firing = _firing(store, record, names)
    measured = measured_group(record, policy)
    if measured:
        return _measured_check(store, record, measured, fixed, firing, policy, now)
    if any(alert_state(record, name) for name in names):
        waiting = [name for name in names if name in firing or not _resolved_since(record, name, fixed)]
        return {"ok": not waiting, "detail": (f"{', '.join(waiting)} not yet resolved after the fix" if waiting else
                                              f"{', '.join(names)} resolved after the fix (Alertmanager)")}
    reports = [e for e in record["timeline"] if e["kind"] == "verification_reported" and e["at"] >= fixed]
    if not reports:
        return {"ok": False, "detail": "no alert backs this incident and no verification was reported after the fix"}
    return {"ok": True, "detail": f"no alert backs this incident; verified as {reports[-1].get('by')} reported: "
                                  f"{reports[-1].get('detail', '')}"[:2000]}


def _measured_check(store, record: dict, measured: tuple[str, str], fixed: float, firing: list[str],
                    policy: Policy, now: float) -> dict:
    """Whether the borrows of the tool since the fix stay under the alert's condition."""
    group, name = measured
    tool, thresholds = record["tool"], policy.thresholds
    borrows = story_store.borrows_since(store, fixed, tool)
    count = len(borrows)
    span = now - borrows[0]["at"] if borrows else 0.0
    demand_note, demand_ok = "", True
    if group == "overage":
        limit = thresholds["high_overage_ratio"]
        bad = sum(1 for b in borrows if b["overage"])
        share, what = (bad / count if count else 0.0), "overage share"
        old_commit = commit_before(store, record, tool)
        peak = peak_in_use(borrows)
        demand_ok = old_commit is None or peak > old_commit
        demand_note = f", peak {peak} seats in use" + (f" (commit before the fix: {old_commit})" if old_commit is not None else "")
    else:
        kinds = ("exhausted",) if group == "exhaustion" else ("exhausted", "failed")
        bad = len(story_store.refusal_times(store, tool, fixed, kinds))
        share = bad / (count + bad) if count + bad else 0.0
        limit = 1e-9 if group == "exhaustion" else thresholds["borrow_failure_ratio"]
        what, count = "refused share" if group == "exhaustion" else "failure share", count + bad
    ok = count >= policy.min_borrows and span >= policy.verify_seconds and share < limit and demand_ok and not firing
    still = f"; {', '.join(firing)} still firing" if firing else ""
    detail = (f"{count} borrows of {tool} in {span:.0f} s since the fix, {what} {share:.1%} "
              f"(threshold {limit:.0%}){demand_note}{still}")
    return {"ok": ok, "detail": detail, "borrows": count, "share": round(share, 4), "threshold": limit}


def _firing(store, record: dict, names: list[str]) -> list[str]:
    """The incident's alerts firing now, as the latest notifications say."""
    tool, user = record.get("tool"), record.get("user")
    return sorted({a["labels"].get("alertname") for a in store.alerts(status="firing")
                   if a["labels"].get("alertname") in names and a["labels"].get("tool") == tool
                   and (tool or a["labels"].get("user") == user) and not is_synthetic(a)}, key=names.index)


def _resolved_since(record: dict, name: str, since: float) -> bool:
    """The webhook's last word on alert `name` is resolved, received at or after `since`."""
    events = _alert_events(record, name)
    return bool(events) and events[-1]["kind"] == "alert_resolved" and events[-1]["at"] >= since


def waiting_for(store, record: dict, policy: Policy, now: float | None = None) -> str | None:
    """What the server still needs before it resolves the incident (None once resolved or closed)."""
    if record["status"] != OPEN:
        return None
    now = time.time() if now is None else now
    check = verification(store, record, policy, now)
    if check is None:
        fix = (f"a fix: a configuration change of {record['tool']} (/config, PUT /api/config/tools/..., or an "
               "approved proposal) or another action applied" if record.get("tool") else "a fix: an action applied")
        return f"{fix}; then {requirement(record, policy)}"
    if check["ok"]:
        return "nothing more: the fix is verified and the next check resolves the incident"
    return f"the fix to be verified: {requirement(record, policy)}; so far {check['detail']}"


def requirement(record: dict, policy: Policy) -> str:
    """What verifies a fix of this incident, in words."""
    names, thresholds = incident_alerts(record), policy.thresholds
    measured = measured_group(record, policy)
    if measured:
        group, _ = measured
        limit = {"overage": f"an overage share under {thresholds['high_overage_ratio']:.0%}",
                 "exhaustion": "no refused borrow",
                 "failure": f"a failure share under {thresholds['borrow_failure_ratio']:.0%}"}[group]
        peak = ", at their peak more seats in use than the commit before the fix" if group == "overage" else ""
        return (f"at least {policy.min_borrows} borrows of {record['tool']} over {policy.verify_seconds:g} s after the fix "
                f"with {limit}{peak}, and none of {', '.join(names)} firing")
    if any(alert_state(record, name) for name in names):
        return f"{', '.join(names)} resolved after the fix (Alertmanager's resolved notification)"
    return "a verification reported after the fix (an event of kind verified)"


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


def verify_open_incidents(store, policy: Policy, now: float | None = None) -> list[str]:
    """Resolve every open incident whose fix is verified; the ids resolved."""
    now = time.time() if now is None else now
    return [record["id"] for record in story_store.open_incidents(store)
            if evaluate(store, record, policy, now)]


def evaluate(store, record: dict, policy: Policy, now: float | None = None) -> bool:
    """Resolve `record` when its fix is verified; whether this call resolved it."""
    now = time.time() if now is None else now
    check = verification(store, record, policy, now) if record["status"] == OPEN else None
    if not check or not check["ok"]:
        return False
    closed = False

    def close(current: dict) -> dict:
        nonlocal closed
        if current["status"] != OPEN:  # another worker (or a reset) got there first
            return current
        current["timeline"] += [_event("verified", now, check["detail"]),
                                _event("resolved", now, "fix verified by the server's own records")]
        current["status"], closed = RESOLVED, True
        return current
    store.update_incident(record["id"], close)
    if closed:
        log_event("incident", f"incident {record['id']} resolved: fix verified", incident=record["id"],
                  action="resolved", alertname=record["alert"], tool=record.get("tool"))
    return closed


def start(store, policy: Policy, interval: float,
          stop: threading.Event | None = None) -> threading.Thread | None:
    """Check the open incidents every `interval` seconds in a daemon thread (one per worker)
    until `stop` is set."""
    return periodic.run_every(interval, lambda: verify_open_incidents(store, policy),
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


def _start_detail(kind: str | None) -> str:
    """What the problem start of an alert of `kind` (Policy.kind) was taken from."""
    return {"overage": "first overage borrow of the burst (server records)",
            "exhaustion": "first refused borrow (server records)",
            "failure": "first failed or refused borrow (server records)"}.get(kind, "alert active since (Prometheus)")


def _parse(value) -> float | None:
    """An Alertmanager time as epoch seconds (None for missing or zero times)."""
    try:
        at = epoch(value)
    except ValueError:
        return None
    return at if at > 0 else None
