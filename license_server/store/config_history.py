"""Changing a tool's limits and costs, and the history of those changes."""
from __future__ import annotations

import time

from license_server.errors import UnknownTool
from license_server.timestamps import iso

TOOL_FIELDS = {"commit": "commit_seats", "max_overage": "max_overage",
               "overage_cost": "overage_cost", "commit_cost_monthly": "commit_cost_monthly"}


class ConfigHistoryStore:
    """Configuration changes; the Store supplies `_tx`, `is_postgres` and `_tool_state`."""

    def update_tool(self, name: str, changes: dict, actor: str, now: float | None = None) -> dict:
        """Apply `changes` (commit, max_overage, costs) and record each changed field."""
        now = time.time() if now is None else now
        unknown = set(changes) - set(TOOL_FIELDS)
        if unknown:
            raise ValueError(f"Unknown tool fields: {', '.join(sorted(unknown))}")
        with self._tx(write=True) as run:
            lock = " FOR UPDATE" if self.is_postgres else ""
            rows = run(f"SELECT * FROM tools WHERE name = ?{lock}", (name,))
            if not rows:
                raise UnknownTool(f"No tool named {name!r}. GET /api/tools lists the catalog.")
            for field, value in changes.items():
                column = TOOL_FIELDS[field]
                old = rows[0][column]
                if float(old) == float(value):
                    continue
                run(f"UPDATE tools SET {column} = ? WHERE name = ?", (value, name))
                run("INSERT INTO config_changes (changed_at, tool, field, old_value, new_value, actor) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (now, name, field, old, value, actor))
            return self._tool_state(run, name)

    def config_history(self, limit: int = 50) -> list[dict]:
        """Configuration changes, newest first."""
        with self._tx() as run:
            rows = run("SELECT * FROM config_changes ORDER BY changed_at DESC LIMIT ?", (int(limit),))
        return [{"at": iso(r["changed_at"]), "tool": r["tool"], "field": r["field"],
                 "old": _number(r["old_value"]), "new": _number(r["new_value"]), "actor": r["actor"]}
                for r in rows]

    def last_config_changes(self) -> dict[str, float]:
        """Unix time of the latest configuration change per tool."""
        with self._tx() as run:
            rows = run("SELECT tool, MAX(changed_at) AS at FROM config_changes GROUP BY tool")
        return {r["tool"]: float(r["at"]) for r in rows}


def _number(value):
    """Show whole numbers without a trailing .0."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)
