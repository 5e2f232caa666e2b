"""SQL for the incident story: every alert notification, refused and failed borrows, run ids,
and the borrow history the dashboard's verification chart and per-run table read.

Kept apart from the store package: it uses the Store's transactions and adds its own tables.
"""
from __future__ import annotations

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS alert_events (
        at DOUBLE PRECISION NOT NULL,
        alertname TEXT NOT NULL,
        tool TEXT,
        status TEXT NOT NULL,
        severity TEXT,
        synthetic INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS alert_events_at ON alert_events (at)",
    """CREATE TABLE IF NOT EXISTS borrow_refusals (
        at DOUBLE PRECISION NOT NULL,
        tool TEXT NOT NULL,
        kind TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS borrow_refusals_at ON borrow_refusals (tool, at)",
    """CREATE TABLE IF NOT EXISTS borrow_runs (
        borrow_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS borrows_tool_time ON borrows (tool, borrowed_at)",
]
TABLES = ("alert_events", "borrow_refusals", "borrow_runs")


def init(store) -> None:
    """Create the tables if they are missing (after the Store's own schema)."""
    with store._tx(write=True) as run:
        if store.is_postgres:
            run("SELECT pg_advisory_xact_lock(7318)")
        for statement in SCHEMA:
            run(statement)


def clear(store) -> None:
    """Forget the story's records (a reset)."""
    with store._tx(write=True) as run:
        for table in TABLES:
            run(f"DELETE FROM {table}")


def record_alert_event(store, at: float, alertname: str, tool: str | None, status: str,
                       severity: str | None, synthetic: bool) -> None:
    """Keep one notification for the chart's markers (the alerts table keeps only the latest)."""
    with store._tx(write=True) as run:
        run("INSERT INTO alert_events (at, alertname, tool, status, severity, synthetic) "
            "VALUES (?, ?, ?, ?, ?, ?)", (at, alertname, tool, status, severity, int(synthetic)))


def alert_events(store, since: float) -> list[dict]:
    """Non-synthetic notifications received since `since`, oldest first."""
    with store._tx() as run:
        return run("SELECT at, alertname, tool, status, severity FROM alert_events "
                   "WHERE at >= ? AND synthetic = 0 ORDER BY at", (since,))


def record_refusal(store, at: float, tool: str, kind: str) -> None:
    """A borrow refused (`exhausted`) or failed (`failed`: a 5xx answer)."""
    with store._tx(write=True) as run:
        run("INSERT INTO borrow_refusals (at, tool, kind) VALUES (?, ?, ?)", (at, tool, kind))


def refusal_times(store, tool: str, since: float, kinds: tuple[str, ...]) -> list[float]:
    """Times of the tool's refused or failed borrows since `since`, oldest first."""
    marks = ", ".join("?" for _ in kinds)
    with store._tx() as run:
        rows = run(f"SELECT at FROM borrow_refusals WHERE tool = ? AND at >= ? AND kind IN ({marks}) "
                   "ORDER BY at", (tool, since, *kinds))
    return [float(r["at"]) for r in rows]


def record_run(store, borrow_id: str, run_id: str) -> None:
    """Remember the run id a borrow was sent with (X-Run-ID)."""
    with store._tx(write=True) as run:
        run("INSERT INTO borrow_runs (borrow_id, run_id) VALUES (?, ?)", (borrow_id, run_id))


def borrows_since(store, since: float, tool: str | None = None) -> list[dict]:
    """Borrows (returned or not) since `since`, oldest first: at, returned_at, tool, team, overage,
    cost, run_id."""
    sql = ("SELECT b.borrowed_at AS at, b.returned_at, b.tool, b.team, b.overage, b.cost, r.run_id FROM borrows b "
           "LEFT JOIN borrow_runs r ON r.borrow_id = b.id WHERE b.borrowed_at >= ?")
    params: tuple = (since,)
    if tool is not None:
        sql, params = sql + " AND b.tool = ?", (since, tool)
    with store._tx() as run:
        rows = run(sql + " ORDER BY b.borrowed_at", params)
    return [{**r, "at": float(r["at"]), "overage": bool(r["overage"]), "cost": float(r["cost"]),
             "returned_at": None if r["returned_at"] is None else float(r["returned_at"])} for r in rows]


def overage_borrow_times(store, tool: str, since: float) -> list[float]:
    """Times of the tool's overage borrows since `since`, oldest first."""
    with store._tx() as run:
        rows = run("SELECT borrowed_at FROM borrows WHERE tool = ? AND overage = 1 AND borrowed_at >= ? "
                   "ORDER BY borrowed_at", (tool, since))
    return [float(r["borrowed_at"]) for r in rows]


def config_changes_since(store, since: float) -> list[dict]:
    """Configuration history rows since `since`, oldest first."""
    with store._tx() as run:
        rows = run("SELECT changed_at AS at, tool, field, old_value AS old, new_value AS new, actor "
                   "FROM config_changes WHERE changed_at >= ? ORDER BY changed_at", (since,))
    return [{**r, "at": float(r["at"])} for r in rows]


def open_incidents(store, tool: str | None = None) -> list[dict]:
    """Open incident records (newest first), optionally of one tool."""
    return [r for r in store.list_incidents("open") if tool is None or r.get("tool") == tool]
