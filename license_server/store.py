"""The only module that speaks SQL: tools, borrows, config history, alerts, demo state.

SQLite (default) and PostgreSQL share the statements below; `?` placeholders are
rewritten to `%s` for psycopg. The borrow transaction serialises per tool: SQLite's
BEGIN IMMEDIATE takes the database write lock, PostgreSQL locks the tool's row.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from license_server.allocation import OVERAGE, allocate
from license_server.errors import (AlreadyReturned, Exhausted, IdempotencyMismatch, UnknownBorrow,
                                   UnknownTool)

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS tools (
        name TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        commit_seats INTEGER NOT NULL,
        max_overage INTEGER NOT NULL,
        overage_cost DOUBLE PRECISION NOT NULL,
        commit_cost_monthly DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS borrows (
        id TEXT PRIMARY KEY,
        tool TEXT NOT NULL REFERENCES tools(name) ON DELETE CASCADE,
        username TEXT NOT NULL,
        team TEXT,
        overage INTEGER NOT NULL,
        cost DOUBLE PRECISION NOT NULL,
        borrowed_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION,
        returned_at DOUBLE PRECISION,
        return_reason TEXT)""",
    "CREATE INDEX IF NOT EXISTS borrows_active ON borrows (tool) WHERE returned_at IS NULL",
    "CREATE INDEX IF NOT EXISTS borrows_user ON borrows (username) WHERE returned_at IS NULL",
    """CREATE TABLE IF NOT EXISTS config_changes (
        changed_at DOUBLE PRECISION NOT NULL,
        tool TEXT NOT NULL,
        field TEXT NOT NULL,
        old_value DOUBLE PRECISION,
        new_value DOUBLE PRECISION,
        actor TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS alerts (
        fingerprint TEXT PRIMARY KEY,
        alertname TEXT NOT NULL,
        status TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS demo_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    # Generated once and shared by every worker, instance and restart (the session key).
    """CREATE TABLE IF NOT EXISTS server_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    # Logged-in /config sessions: logout deletes the row; the token digest ties it to ADMIN_TOKEN.
    """CREATE TABLE IF NOT EXISTS admin_sessions (
        id TEXT PRIMARY KEY,
        token_digest TEXT NOT NULL,
        actor TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
    # Fixed-window counters of failed token attempts per client (license_server/token_guard.py).
    """CREATE TABLE IF NOT EXISTS rate_limits (
        key TEXT PRIMARY KEY,
        hits INTEGER NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL)""",
    # The first answer to each Idempotency-Key of POST /api/borrow.
    """CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency_keys (created_at)",
    """CREATE TABLE IF NOT EXISTS incidents (
        id TEXT PRIMARY KEY,
        opened_at DOUBLE PRECISION NOT NULL,
        status TEXT NOT NULL,
        match_key TEXT NOT NULL,
        record TEXT NOT NULL)""",
]

TOOL_FIELDS = {"commit": "commit_seats", "max_overage": "max_overage",
               "overage_cost": "overage_cost", "commit_cost_monthly": "commit_cost_monthly"}

ACTIVE_BY_TOOL = """SELECT tool, COUNT(*) AS in_use, COALESCE(SUM(overage), 0) AS overage_in_use
                    FROM borrows WHERE returned_at IS NULL GROUP BY tool"""


def retry_locked(action, attempts: int = 20, pause: float = 0.05):
    """Run `action`, retrying while SQLite answers "database is locked" (start-up contention)."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause * (attempt + 1))


def iso(at: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with a Z, or None."""
    if at is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"


def borrow_view(row: dict) -> dict:
    """A borrow row as the API shows it."""
    view = {"id": row["id"], "tool": row["tool"], "user": row["username"], "team": row["team"],
            "overage": bool(row["overage"]), "cost": float(row["cost"]),
            "borrowed_at": iso(row["borrowed_at"]), "expires_at": iso(row["expires_at"])}
    if row.get("returned_at") is not None:
        view["returned_at"] = iso(row["returned_at"])
        view["return_reason"] = row["return_reason"]
    return view


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


class SecurityStore:
    """Session key, admin sessions and failed-attempt counters; Store supplies `_tx`."""

    def secret(self, name: str, make) -> str:
        """The secret stored under `name`, created with `make()` by whoever asks first."""
        with self._tx(write=True) as run:
            run("INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, make()))
            return run("SELECT value FROM server_secrets WHERE name = ?", (name,))[0]["value"]

    def session_key(self) -> str:
        """The random key signing session cookies: generated once, then the same everywhere."""
        return self.secret("session_key", lambda: secrets.token_hex(32))

    def create_admin_session(self, token_digest: str, actor: str, now: float | None = None) -> str:
        """Record a new logged-in session; return its random id."""
        session_id = secrets.token_urlsafe(32)
        with self._tx(write=True) as run:
            run("INSERT INTO admin_sessions (id, token_digest, actor, created_at) VALUES (?, ?, ?, ?)",
                (session_id, token_digest, actor, time.time() if now is None else now))
        return session_id

    def admin_session(self, session_id: str) -> dict | None:
        """The session row, or None when it was ended (or never existed)."""
        with self._tx() as run:
            rows = run("SELECT * FROM admin_sessions WHERE id = ?", (session_id,))
        return rows[0] if rows else None

    def end_admin_session(self, session_id: str, older_than: float | None = None) -> None:
        """Forget a session (logout), and every session created before `older_than`."""
        with self._tx(write=True) as run:
            run("DELETE FROM admin_sessions WHERE id = ?", (session_id,))
            if older_than is not None:
                run("DELETE FROM admin_sessions WHERE created_at < ?", (older_than,))

    def rate_incr(self, key: str, expiry: float, amount: int = 1, now: float | None = None) -> int:
        """Add `amount` to the counter `key` (a new window of `expiry` s once expired); return it."""
        now = time.time() if now is None else now
        with self._tx(write=True) as run:
            lock = " FOR UPDATE" if self.is_postgres else ""
            rows = run(f"SELECT hits, expires_at FROM rate_limits WHERE key = ?{lock}", (key,))
            if rows and rows[0]["expires_at"] > now:
                hits = int(rows[0]["hits"]) + amount
                run("UPDATE rate_limits SET hits = ? WHERE key = ?", (hits, key))
                return hits
            run("DELETE FROM rate_limits WHERE key = ? OR expires_at <= ?", (key, now))
            if self.is_postgres:
                run("INSERT INTO rate_limits (key, hits, expires_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET hits = rate_limits.hits + EXCLUDED.hits",
                    (key, amount, now + expiry))
                return int(run("SELECT hits FROM rate_limits WHERE key = ?", (key,))[0]["hits"])
            run("INSERT INTO rate_limits (key, hits, expires_at) VALUES (?, ?, ?)",
                (key, amount, now + expiry))
            return amount

    def rate_get(self, key: str, now: float | None = None) -> tuple[int, float]:
        """(hits, window end) of the counter `key`; (0, now) when none is running."""
        now = time.time() if now is None else now
        with self._tx() as run:
            rows = run("SELECT hits, expires_at FROM rate_limits WHERE key = ?", (key,))
        if rows and rows[0]["expires_at"] > now:
            return int(rows[0]["hits"]), float(rows[0]["expires_at"])
        return 0, now

    def rate_clear(self, key: str | None = None) -> None:
        """Drop one counter, or all of them."""
        with self._tx(write=True) as run:
            if key is None:
                run("DELETE FROM rate_limits")
            else:
                run("DELETE FROM rate_limits WHERE key = ?", (key,))


class Store(SecurityStore):
    """Database access for one process; each thread gets its own connection."""

    def __init__(self, url: str):
        self.url = url
        self.is_postgres = url.startswith(("postgresql://", "postgres://"))
        if not self.is_postgres and not url.startswith("sqlite:///"):
            raise ValueError(f"Unsupported DATABASE_URL {url!r}: use sqlite:///path/to/file.db "
                             "or postgresql://user:password@host:port/dbname")
        self._local = threading.local()

    @classmethod
    def from_url(cls, url: str) -> "Store":
        """A store for `sqlite:///path` or `postgresql://...`."""
        return cls(url)

    # -- connections and transactions -------------------------------------------------

    def _connect(self):
        """Open a connection configured for this backend."""
        if self.is_postgres:
            import psycopg
            return psycopg.connect(self.url, autocommit=True)
        path = self.url[len("sqlite:///"):]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        # WAL is a property of the database file: set once (by the gunicorn master before the
        # workers fork), so a worker only changes it on a file that is not WAL yet. Switching
        # needs an exclusive lock that the busy timeout does not wait for, hence the retry.
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal" and path != ":memory:":
            retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _conn(self):
        """This thread's connection, opened on first use (and after a fork)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _tx(self, write: bool = False):
        """A transaction yielding a `run(sql, params) -> list[dict]` function."""
        conn = self._conn()
        if self.is_postgres:
            from psycopg.rows import dict_row
            try:
                with conn.transaction():
                    with conn.cursor(row_factory=dict_row) as cur:
                        def run(sql, params=()):
                            cur.execute(sql.replace("?", "%s"), params)
                            return cur.fetchall() if cur.description else []
                        yield run
            except Exception:
                if conn.closed:
                    self._local.conn = None
                raise
            return
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            def run(sql, params=()):
                return [dict(row) for row in conn.execute(sql, params).fetchall()]
            yield run
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- schema and catalog -----------------------------------------------------------

    def init_schema(self) -> None:
        """Create the tables if they are missing (safe to call from every worker at once)."""
        def create():
            with self._tx(write=True) as run:
                if self.is_postgres:
                    # Workers start together; CREATE IF NOT EXISTS races without a lock.
                    run("SELECT pg_advisory_xact_lock(7315)")
                for statement in SCHEMA:
                    run(statement)
        retry_locked(create)

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

    def ping(self) -> None:
        """Raise when the database cannot answer a query."""
        with self._tx() as run:
            run("SELECT 1 AS ok")

    # -- reading ----------------------------------------------------------------------

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

    # -- borrowing --------------------------------------------------------------------

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
            kind = allocate(int(config["commit_seats"]), int(config["max_overage"]),
                            in_use, in_use - overage_in_use)
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

    def next_expiry(self) -> float | None:
        """The earliest lease end among active borrows."""
        with self._tx() as run:
            rows = run("SELECT MIN(expires_at) AS at FROM borrows WHERE returned_at IS NULL")
        return rows[0]["at"] if rows and rows[0]["at"] is not None else None

    # -- configuration ----------------------------------------------------------------

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

    def reset(self, tools: list[dict]) -> None:
        """Fresh demo state: the given catalog, no borrows, history, alerts or demo state."""
        with self._tx(write=True) as run:
            for table in ("idempotency_keys", "borrows", "config_changes", "alerts", "demo_state",
                          "tools"):
                run(f"DELETE FROM {table}")
            self._insert_tools(run, tools)

    # -- alerts and demo state --------------------------------------------------------

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

    # -- incidents (the record is JSON shaped by license_server/incidents.py) ---------

    def create_incident(self, record: dict, match_key: str, now: float | None = None) -> tuple[dict, bool]:
        """Insert `record` unless an open incident has the same `match_key`; return (record, created)."""
        now = time.time() if now is None else now
        with self._tx(write=True) as run:
            if self.is_postgres:
                run("SELECT pg_advisory_xact_lock(7317)")
            rows = run("SELECT record FROM incidents WHERE match_key = ? AND status != 'resolved' "
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
        """Incident records, newest first, optionally only open or resolved ones."""
        sql, params = "SELECT record FROM incidents", []
        if status == "open":
            sql += " WHERE status != 'resolved'"
        elif status:
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


def _number(value):
    """Show whole numbers without a trailing .0."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)
