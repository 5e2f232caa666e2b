"""Seat events, recorded in one place: each function writes its counter and its log line.

The API, the pages, the reaper, the demo faults and the validation handler call these; nothing
else increments the seat counters of metrics.py or writes these log lines (docs/contracts.md
lists their names and fields). Refusals and run ids also go into the incident story
(story_store), where exhaustion and failure problems start.
"""
from __future__ import annotations

import logging
import re
import time

from license_server import metrics, story_store
from license_server.logs import log_event, seat_kind

log = logging.getLogger(__name__)
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
CONFIG_FIELDS = ("commit", "max_overage", "overage_cost", "commit_cost_monthly")
# The kind of story record a refusal reason starts: exhausted tools and failing borrows.
STORY_KINDS = {"exhausted": "exhausted", "server_error": "failed"}


def borrow_granted(seat: dict, lease_seconds: int) -> None:
    """A new seat: count it (with its overage and cost) and log a `borrow` line."""
    tool = seat["tool"]
    metrics.BORROW_SUCCESS.labels(tool=tool).inc()
    metrics.CHECKOUTS_BY_USER.labels(tool=tool, user=seat["user"], team=seat["team"] or "").inc()
    if seat["overage"]:
        metrics.OVERAGE_CHECKOUTS.labels(tool=tool).inc()
        metrics.OVERAGE_COST.labels(tool=tool).inc(seat["cost"])
    log_event("borrow", f"{seat['user']} borrowed a {seat_kind(seat)} seat of {tool}",
              tool=tool, user=seat["user"], team=seat["team"], overage=seat["overage"],
              borrow_id=seat["id"], cost=seat["cost"], lease_seconds=lease_seconds)


def borrow_run(store, borrow_id: str, run_id: str | None) -> None:
    """Remember the X-Run-ID a borrow was sent with, when it is a well-formed one."""
    if run_id and RUN_ID_RE.match(run_id):
        _story(story_store.record_run, store, borrow_id, run_id)


def borrow_refused(tool: str, reason: str, *, store=None, user=None, team=None,
                   message: str | None = None, level: int = logging.WARNING, **fields) -> None:
    """A borrow refused (`exhausted`, `unknown_tool`) or failed (`server_error`): count it by
    reason, log a `borrow_rejected` line and, given the store, note it in the incident story."""
    # An unknown tool's name is not a bounded label value: it counts as tool="unknown".
    label = "unknown" if reason == "unknown_tool" else tool
    metrics.BORROW_FAILURES.labels(tool=label, reason=reason).inc()
    log_event("borrow_rejected", message or f"Borrow of {tool} by {user} refused: {reason}",
              level=level, tool=tool, user=user, team=team, reason=reason, **fields)
    if store is not None and reason in STORY_KINDS:
        _story(story_store.record_refusal, store, time.time(), tool, STORY_KINDS[reason])


def borrow_failed(store, tool: str) -> None:
    """A borrow the server failed to answer (an unexpected 5xx): only the story notes it."""
    _story(story_store.record_refusal, store, time.time(), tool, "failed")


def borrow_invalid() -> None:
    """A borrow the validation refused (400, 413). Counted only: its http_request line is the log."""
    metrics.BORROW_FAILURES.labels(tool="unknown", reason="invalid_request").inc()


def seat_returned(seat: dict) -> None:
    """A seat given back by its borrower."""
    metrics.RETURNS.labels(tool=seat["tool"]).inc()
    # `seat` names the kind: only borrow lines carry `overage`, so `| overage="true"`
    # finds the overage borrows alone (docs/contracts.md).
    log_event("return", f"{seat['user']} returned a seat of {seat['tool']}", tool=seat["tool"],
              user=seat["user"], team=seat["team"], seat=seat_kind(seat), borrow_id=seat["id"])


def lease_expired(seat: dict) -> None:
    """A seat reclaimed because its lease ran out."""
    metrics.LEASE_EXPIRATIONS.labels(tool=seat["tool"]).inc()
    log_event("lease_expired", f"Lease of {seat['user']} on {seat['tool']} expired; seat reclaimed",
              level=logging.WARNING, tool=seat["tool"], user=seat["user"], team=seat["team"],
              seat=seat_kind(seat), borrow_id=seat["id"])


def force_returned(seat: dict, user: str, actor: str) -> None:
    """A seat of `user` freed by an admin (`actor`)."""
    metrics.FORCE_RETURNS.labels(tool=seat["tool"]).inc()
    log_event("force_return", f"{actor} freed a seat of {seat['tool']} held by {user}",
              tool=seat["tool"], user=user, team=seat["team"], seat=seat_kind(seat),
              borrow_id=seat["id"], actor=actor)


def config_changed(before: dict, after: dict, actor: str, source: str) -> list[str]:
    """A tool's configuration changed: count and log each changed field; the fields changed.
    `source` says where the change was made ("api", "config form", "incident page")."""
    name = after["name"]
    changed = [field for field in CONFIG_FIELDS if before[field] != after[field]]
    for field in changed:
        metrics.CONFIG_CHANGES.labels(tool=name).inc()
        log_event("config_change", f"{actor} changed {field} of {name} from {before[field]} to {after[field]}",
                  tool=name, field=field, old=before[field], new=after[field], actor=actor, source=source)
    return changed


def _story(record, *args) -> None:
    """Write a story record; the answer is already decided, so a missed record must not change it."""
    try:
        record(*args)
    except Exception:
        log.exception("could not record the borrow outcome")
