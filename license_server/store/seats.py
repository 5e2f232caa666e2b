"""Seats: borrowing (commit first, then overage), returning, force returns and lease expiry."""
from __future__ import annotations

import json
import time
import uuid

from opentelemetry import trace

from license_server.allocation import COMMIT, OVERAGE, allocate
from license_server.errors import AlreadyReturned, Exhausted, UnknownBorrow, UnknownTool
from license_server.timestamps import iso

tracer = trace.get_tracer(__name__)


def borrow_view(row: dict) -> dict:
    """A borrow row as the API shows it."""
    view = {"id": row["id"], "tool": row["tool"], "user": row["username"], "team": row["team"],
            "overage": bool(row["overage"]), "cost": float(row["cost"]),
            "borrowed_at": iso(row["borrowed_at"]), "expires_at": iso(row["expires_at"])}
    if row.get("returned_at") is not None:
        view["returned_at"] = iso(row["returned_at"])
        view["return_reason"] = row["return_reason"]
    return view


class SeatStore:
    """Borrow rows; the Store supplies `_tx`, `is_postgres` and `_first_answer` (idempotency)."""

    def active_borrows(self, user: str | None = None, tool: str | None = None,
                       team: str | None = None) -> list[dict]:
        """Borrows not yet returned, oldest first, filtered by any of user, tool, team."""
        sql, params = "SELECT * FROM borrows WHERE returned_at IS NULL", []
        for column, value in (("username", user), ("tool", tool), ("team", team)):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        with self._tx() as run:
            return [borrow_view(r) for r in run(sql + " ORDER BY borrowed_at, id", tuple(params))]

    def held_by_user(self) -> list[dict]:
        """Seats held now per user and team."""
        with self._tx() as run:
            rows = run("SELECT username, team, COUNT(*) AS seats FROM borrows "
                       "WHERE returned_at IS NULL GROUP BY username, team ORDER BY username")
        return [{"user": r["username"], "team": r["team"], "seats": int(r["seats"])} for r in rows]

    def borrow(self, tool: str, user: str, team: str | None = None,
               lease_seconds: float | None = None, now: float | None = None,
               idempotency: tuple[str, str, float] | None = None) -> dict:
        """Give `user` a seat of `tool` (commit first, then overage) or raise Exhausted.

        `idempotency` is (key, request digest, seconds kept): a key seen within that time
        returns its first answer (with "replayed": True) instead of a second seat, and
        raises IdempotencyMismatch when it came with another request. The key is stored in
        the borrow's own transaction, so a seat and its key are committed together.
        """
        now = time.time() if now is None else now
        with tracer.start_as_current_span("borrow transaction", attributes={
                "license.tool": tool, "license.user": user, "license.team": team or ""}) as span:
            seat = self._borrow(tool, user, team, lease_seconds, now, idempotency)
            span.set_attributes({"license.seat": OVERAGE if seat["overage"] else COMMIT,
                                 "license.overage": seat["overage"], "license.cost": seat["cost"],
                                 "license.replayed": bool(seat.get("replayed"))})
            return seat

    def _borrow(self, tool, user, team, lease_seconds, now, idempotency) -> dict:
        """The borrow's one transaction (see borrow)."""
        with self._tx(write=True) as run:
            if idempotency:
                first = self._first_answer(run, *idempotency, now)
                if first is not None:
                    return {**first, "replayed": True}
            lock = " FOR UPDATE" if self.is_postgres else ""
            rows = run(f"SELECT * FROM tools WHERE name = ?{lock}", (tool,))
            if not rows:
                raise UnknownTool(f"No tool named {tool!r}. GET /api/tools lists the catalog.")
            config = rows[0]
            counts = run("SELECT COUNT(*) AS in_use, COALESCE(SUM(overage), 0) AS overage_in_use "
                         "FROM borrows WHERE tool = ? AND returned_at IS NULL", (tool,))[0]
            in_use, overage_in_use = int(counts["in_use"]), int(counts["overage_in_use"])
            with tracer.start_as_current_span("allocate", attributes={
                    "license.tool": tool, "license.commit": int(config["commit_seats"]),
                    "license.max_overage": int(config["max_overage"]),
                    "license.in_use": in_use}) as decision:
                kind = allocate(int(config["commit_seats"]), int(config["max_overage"]),
                                in_use, in_use - overage_in_use)
                decision.set_attribute("license.seat", kind or "none")
            if kind is None:
                raise Exhausted(
                    f"All {int(config['commit_seats'])} commit and {int(config['max_overage'])} "
                    f"overage seats of {tool!r} are in use. Return a seat or raise the limits "
                    "on /config.")
            overage = kind == OVERAGE
            row = {"id": uuid.uuid4().hex, "tool": tool, "username": user, "team": team,
                   "overage": int(overage),
                   "cost": float(config["overage_cost"]) if overage else 0.0,
                   "borrowed_at": now,
                   "expires_at": now + lease_seconds if lease_seconds else None,
                   "returned_at": None, "return_reason": None}
            run("INSERT INTO borrows (id, tool, username, team, overage, cost, borrowed_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (row["id"], tool, user, team, row["overage"], row["cost"], now, row["expires_at"]))
            if idempotency:
                run("INSERT INTO idempotency_keys (key, request_hash, response, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (idempotency[0], idempotency[1], json.dumps(borrow_view(row)), now))
        return borrow_view(row)

    def return_borrow(self, borrow_id: str, reason: str = "returned",
                      now: float | None = None) -> dict:
        """Free the seat of `borrow_id` once; a second return raises AlreadyReturned."""
        now = time.time() if now is None else now
        with self._tx(write=True) as run:
            rows = run("SELECT * FROM borrows WHERE id = ?", (borrow_id,))
            if not rows:
                raise UnknownBorrow(f"No borrow has id {borrow_id!r}. GET /api/borrows lists the "
                                    "active ones.")
            # The guarded UPDATE is what makes a concurrent double return free one seat only.
            updated = run("UPDATE borrows SET returned_at = ?, return_reason = ? "
                          "WHERE id = ? AND returned_at IS NULL RETURNING *",
                          (now, reason, borrow_id))
            if not updated:
                raise AlreadyReturned(
                    f"Borrow {borrow_id} was already returned ({rows[0]['return_reason']} at "
                    f"{iso(rows[0]['returned_at'])}); no seat was freed.")
        return borrow_view(updated[0])

    def force_return(self, user: str, now: float | None = None) -> list[dict]:
        """Free every seat `user` holds; return the freed borrows."""
        now = time.time() if now is None else now
        with self._tx(write=True) as run:
            rows = run("UPDATE borrows SET returned_at = ?, return_reason = 'force_return' "
                       "WHERE username = ? AND returned_at IS NULL RETURNING *", (now, user))
        return [borrow_view(r) for r in sorted(rows, key=lambda r: (r["borrowed_at"], r["id"]))]

    def reap_expired(self, now: float | None = None) -> list[dict]:
        """Reclaim every borrow whose lease has run out; return them."""
        now = time.time() if now is None else now
        with self._tx(write=True) as run:
            rows = run("UPDATE borrows SET returned_at = expires_at, return_reason = 'lease_expired' "
                       "WHERE returned_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ? "
                       "RETURNING *", (now,))
        return [borrow_view(r) for r in rows]
