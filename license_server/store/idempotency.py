"""The first answer to each Idempotency-Key of POST /api/borrow."""
from __future__ import annotations

import json

from license_server.errors import IdempotencyMismatch


class IdempotencyStore:
    """Idempotency records; the Store supplies `_tx` and `is_postgres`."""

    def _first_answer(self, run, key: str, digest: str, keep_seconds: float, now: float) -> dict | None:
        """The stored answer of `key` inside an open borrow transaction, or None when new."""
        if self.is_postgres:
            # Concurrent retries of one key wait for each other (SQLite's write lock does this).
            run("SELECT pg_advisory_xact_lock(7318, hashtext(?))", (key,))
        rows = run("SELECT request_hash, response, created_at FROM idempotency_keys WHERE key = ?",
                   (key,))
        if not rows:
            return None
        if rows[0]["created_at"] <= now - keep_seconds:
            run("DELETE FROM idempotency_keys WHERE key = ?", (key,))
            return None
        if rows[0]["request_hash"] != digest:
            raise IdempotencyMismatch(
                "This Idempotency-Key was first used with a different borrow request; send a new "
                "key for a new borrow, or the same body to retry the first one.")
        return json.loads(rows[0]["response"])

    def forget_idempotency_keys(self, older_than: float) -> int:
        """Drop the keys recorded before `older_than` (epoch seconds); return how many."""
        with self._tx(write=True) as run:
            return len(run("DELETE FROM idempotency_keys WHERE created_at < ? RETURNING key",
                           (older_than,)))
