"""Connections and transactions: SQLite (default) or PostgreSQL, one connection per thread.

SQLite and PostgreSQL share every statement; `?` placeholders are rewritten to `%s` for
psycopg. The borrow transaction serialises per tool: SQLite's BEGIN IMMEDIATE takes the
database write lock, PostgreSQL locks the tool's row.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from license_server import tracing


def retry_locked(action, attempts: int = 20, pause: float = 0.05):
    """Run `action`, retrying while SQLite answers "database is locked" (start-up contention)."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause * (attempt + 1))


class Database:
    """The connection and dialect half of the Store; each thread gets its own connection."""

    def __init__(self, url: str):
        self.url = url
        self.is_postgres = url.startswith(("postgresql://", "postgres://"))
        if not self.is_postgres and not url.startswith("sqlite:///"):
            raise ValueError(f"Unsupported DATABASE_URL {url!r}: use sqlite:///path/to/file.db "
                             "or postgresql://user:password@host:port/dbname")
        self._local = threading.local()

    @classmethod
    def from_url(cls, url: str) -> Self:
        """A store for `sqlite:///path` or `postgresql://...`."""
        return cls(url)

    def _connect(self):
        """Open a connection configured for this backend."""
        if self.is_postgres:
            import psycopg
            return tracing.instrument_connection(psycopg.connect(self.url, autocommit=True), True)
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
        return tracing.instrument_connection(conn, False)

    def _conn(self):
        """This thread's connection, opened on first use and again in a forked child.

        A connection inherited through fork() shares its socket or file lock with the parent:
        the child drops it (without closing it, which would end the parent's) and opens its own.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = self._local.conn = self._connect()
            self._local.pid = os.getpid()
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
        # Statements go through a cursor: a traced connection makes a span per cursor statement
        # (BEGIN and COMMIT, on the connection itself, make none: the caller's span covers them).
        cursor = conn.cursor()
        try:
            def run(sql, params=()):
                return [dict(row) for row in cursor.execute(sql, params).fetchall()]
            yield run
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def ping(self) -> None:
        """Raise when the database cannot answer a query."""
        with self._tx() as run:
            run("SELECT 1 AS ok")
