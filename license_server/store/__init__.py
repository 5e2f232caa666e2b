"""The only package that speaks SQL: tools, borrows, config history, alerts, incidents, demo state.

`Store` is the facade every caller uses: the connection and dialect come from
`connection.Database`, each concern's queries from its own module.
"""
from __future__ import annotations

from license_server.store.alerts import AlertStore
from license_server.store.catalog import CatalogStore
from license_server.store.config_history import ConfigHistoryStore
from license_server.store.connection import Database, retry_locked
from license_server.store.demo_state import DemoStateStore
from license_server.store.idempotency import IdempotencyStore
from license_server.store.incidents import IncidentStore
from license_server.store.schema import SCHEMA
from license_server.store.seats import SeatStore
from license_server.store.security import SecurityStore

__all__ = ["Store"]


class Store(CatalogStore, SeatStore, IdempotencyStore, ConfigHistoryStore, AlertStore,
            DemoStateStore, IncidentStore, SecurityStore, Database):
    """Database access for one process; each thread gets its own connection."""

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

    def reset(self, tools: list[dict]) -> None:
        """Fresh demo state: the given catalog, no borrows, history, alerts or demo state."""
        with self._tx(write=True) as run:
            for table in ("idempotency_keys", "borrows", "config_changes", "alerts", "demo_state",
                          "tools"):
                run(f"DELETE FROM {table}")
            self._insert_tools(run, tools)
