"""The latest Alertmanager notification of each alert."""
from __future__ import annotations

import json
import time

from license_server.timestamps import iso


class AlertStore:
    """Alert notifications by fingerprint; the Store supplies `_tx`."""

    def record_alert(self, fingerprint: str, alertname: str, status: str, payload: dict,
                     now: float | None = None) -> None:
        """Keep the latest notification of an alert (by fingerprint)."""
        now = time.time() if now is None else now
        with self._tx(write=True) as run:
            run("DELETE FROM alerts WHERE fingerprint = ?", (fingerprint,))
            run("INSERT INTO alerts (fingerprint, alertname, status, payload, received_at) "
                "VALUES (?, ?, ?, ?, ?)", (fingerprint, alertname, status, json.dumps(payload), now))

    def alerts(self, status: str | None = None) -> list[dict]:
        """Latest notification per alert, newest first, optionally by status."""
        sql, params = "SELECT * FROM alerts", ()
        if status:
            sql, params = sql + " WHERE status = ?", (status,)
        with self._tx() as run:
            rows = run(sql + " ORDER BY received_at DESC", params)
        return [{**json.loads(r["payload"]), "received_at": iso(r["received_at"])} for r in rows]
