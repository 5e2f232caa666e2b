"""Incident records (JSON shaped by license_server/incident_rule.py), one open per match key.

Only the incident rule changes a record's `status` (open, resolved, closed)."""
from __future__ import annotations

import json
import time


class IncidentStore:
    """Incident rows; the Store supplies `_tx` and `is_postgres`."""

    def create_incident(self, record: dict, match_key: str, now: float | None = None) -> tuple[dict, bool]:
        """Insert `record` unless an open incident has the same `match_key`; return (record, created)."""
        now = time.time() if now is None else now
        with self._tx(write=True) as run:
            if self.is_postgres:
                run("SELECT pg_advisory_xact_lock(7317)")
            rows = run("SELECT record FROM incidents WHERE match_key = ? AND status = 'open' "
                       "ORDER BY opened_at DESC LIMIT 1", (match_key,))
            if rows:
                return json.loads(rows[0]["record"]), False
            count = run("SELECT COUNT(*) AS n FROM incidents")[0]["n"]
            record = {**record, "id": f"INC-{int(count) + 1:04d}"}
            run("INSERT INTO incidents (id, opened_at, status, match_key, record) VALUES (?, ?, ?, ?, ?)",
                (record["id"], now, record.get("status", "open"), match_key, json.dumps(record)))
        return record, True

    def get_incident(self, incident_id: str) -> dict | None:
        """One incident record, or None."""
        with self._tx() as run:
            rows = run("SELECT record FROM incidents WHERE id = ?", (incident_id,))
        return json.loads(rows[0]["record"]) if rows else None

    def list_incidents(self, status: str | None = None, limit: int = 200) -> list[dict]:
        """Incident records, newest first, optionally of one status (open, resolved, closed)."""
        sql, params = "SELECT record FROM incidents", []
        if status:
            sql, params = sql + " WHERE status = ?", [status]
        with self._tx() as run:
            rows = run(sql + " ORDER BY opened_at DESC LIMIT ?", (*params, int(limit)))
        return [json.loads(r["record"]) for r in rows]

    def update_incident(self, incident_id: str, change) -> dict | None:
        """Apply `change(record) -> record` inside one write transaction; None when unknown."""
        with self._tx(write=True) as run:
            lock = " FOR UPDATE" if self.is_postgres else ""
            rows = run(f"SELECT record FROM incidents WHERE id = ?{lock}", (incident_id,))
            if not rows:
                return None
            record = change(json.loads(rows[0]["record"]))
            run("UPDATE incidents SET status = ?, record = ? WHERE id = ?",
                (record.get("status", "open"), json.dumps(record), incident_id))
        return record
