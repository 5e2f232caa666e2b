"""The store of the running app, created once per process by create_app."""
from __future__ import annotations

from flask import current_app

from license_server.store import Store


def get_store() -> Store:
    """The store created by create_app for this app."""
    return current_app.extensions["store"]


def prepare(url: str, tools: list[dict]) -> None:
    """Create the schema, set SQLite's WAL mode and seed the catalog, then close.

    The gunicorn master runs this before any worker forks, so workers booting together find
    the database ready instead of racing to change its journal mode.
    """
    store = Store.from_url(url)
    try:
        store.init_schema()
        store.seed_tools(tools)
        # The session key too, so booting workers only read it.
        store.session_key()
    finally:
        store.close()


def init_app(app, tools: list[dict]) -> Store:
    """Create the store, make sure the schema exists and seed an empty catalog."""
    store = Store.from_url(app.config["DATABASE_URL"])
    # Idempotent and retried on "database is locked": also right without the master's prepare().
    store.init_schema()
    store.seed_tools(tools)
    app.extensions["store"] = store
    return store
