"""The session key, logged-in admin sessions and failed-attempt counters."""
from __future__ import annotations

import secrets
import time


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
