"""The tool catalog: seeding it and reading each tool with its live seat counts."""
from __future__ import annotations

from license_server.store.connection import retry_locked

ACTIVE_BY_TOOL = """SELECT tool, COUNT(*) AS in_use, COALESCE(SUM(overage), 0) AS overage_in_use
                    FROM borrows WHERE returned_at IS NULL GROUP BY tool"""


def tool_view(row: dict, in_use: int, overage_in_use: int, cost_total: float) -> dict:
    """A tool row plus its live state as the API shows it."""
    commit, max_overage = int(row["commit_seats"]), int(row["max_overage"])
    return {"name": row["name"], "commit": commit, "max_overage": max_overage,
            "overage_cost": float(row["overage_cost"]),
            "commit_cost_monthly": float(row["commit_cost_monthly"]),
            "in_use": in_use, "commit_in_use": in_use - overage_in_use,
            "overage_in_use": overage_in_use,
            "available": max(0, commit + max_overage - in_use),
            "overage_cost_total": round(cost_total, 2)}


class CatalogStore:
    """Tools and their live state; the Store supplies `_tx` and `is_postgres`."""

    def seed_tools(self, tools: list[dict]) -> bool:
        """Load `tools` into an empty catalog; return whether it was empty."""
        def seed():
            with self._tx(write=True) as run:
                if self.is_postgres:
                    run("SELECT pg_advisory_xact_lock(7316)")
                if run("SELECT COUNT(*) AS n FROM tools")[0]["n"]:
                    return False
                self._insert_tools(run, tools)
                return True
        return retry_locked(seed)

    @staticmethod
    def _insert_tools(run, tools: list[dict]) -> None:
        """Insert catalog entries in their listed order."""
        for position, tool in enumerate(tools):
            run("INSERT INTO tools (name, position, commit_seats, max_overage, overage_cost, "
                "commit_cost_monthly) VALUES (?, ?, ?, ?, ?, ?)",
                (tool["name"], position, int(tool["commit"]), int(tool["max_overage"]),
                 float(tool["overage_cost"]), float(tool["commit_cost_monthly"])))

    def list_tools(self) -> list[dict]:
        """Every tool with its configuration and live state, in catalog order."""
        with self._tx() as run:
            tools = run("SELECT * FROM tools ORDER BY position")
            active = {r["tool"]: r for r in run(ACTIVE_BY_TOOL)}
            costs = {r["tool"]: r["total"] for r in
                     run("SELECT tool, SUM(cost) AS total FROM borrows GROUP BY tool")}
        return [tool_view(t, int(active.get(t["name"], {}).get("in_use", 0)),
                          int(active.get(t["name"], {}).get("overage_in_use", 0)),
                          float(costs.get(t["name"]) or 0)) for t in tools]

    def get_tool(self, name: str) -> dict | None:
        """One tool with its live state, or None."""
        with self._tx() as run:
            return self._tool_state(run, name)

    def _tool_state(self, run, name: str) -> dict | None:
        """Read one tool and its counts inside an open transaction."""
        rows = run("SELECT * FROM tools WHERE name = ?", (name,))
        if not rows:
            return None
        active = run("SELECT COUNT(*) AS in_use, COALESCE(SUM(overage), 0) AS overage_in_use "
                     "FROM borrows WHERE tool = ? AND returned_at IS NULL", (name,))[0]
        cost = run("SELECT COALESCE(SUM(cost), 0) AS total FROM borrows WHERE tool = ?", (name,))[0]
        return tool_view(rows[0], int(active["in_use"]), int(active["overage_in_use"]),
                         float(cost["total"]))
