"""Small JSON values the demo controls keep across workers (faults, deployments, acts)."""
from __future__ import annotations

import json


class DemoStateStore:
    """Key → JSON value; the Store supplies `_tx`."""

    def get_demo_state(self, key: str):
        """The JSON value stored under `key`, or None."""
        with self._tx() as run:
            rows = run("SELECT value FROM demo_state WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else None

    def set_demo_state(self, key: str, value) -> None:
        """Store a JSON value under `key`."""
        with self._tx(write=True) as run:
            run("DELETE FROM demo_state WHERE key = ?", (key,))
            run("INSERT INTO demo_state (key, value) VALUES (?, ?)", (key, json.dumps(value)))
