"""The tables of the core store, in creation order (borrows refers to tools)."""
from __future__ import annotations

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
