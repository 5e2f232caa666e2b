"""Failed admin-token attempts, limited per client across every worker and instance.

The `limits` library (the engine of Flask-Limiter) counts in fixed windows; its counters
live in the server's database (StoreStorage), because an in-memory counter would be per
gunicorn worker and restart. Only failures count: a client that types the token wrong
TOKEN_ATTEMPTS times within TOKEN_ATTEMPT_WINDOW seconds is refused (429) until the window
ends, on /config/login and on every admin API call.
"""
from __future__ import annotations

import math
import time

from flask import current_app, request
from limits import RateLimitItemPerSecond
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests


class StoreStorage(Storage):
    """A `limits` storage keeping fixed-window counters in the license server's database."""

    STORAGE_SCHEME = ["license-store"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, store=None, **options):
        """Count in `store` (a license_server Store)."""
        self.store = store
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        """Database errors (sqlite3 and psycopg both derive theirs from Exception)."""
        return Exception

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add to a counter, starting a new window when the last one ended."""
        return self.store.rate_incr(key, expiry, amount)

    def get(self, key: str) -> int:
        """The counter's value in the current window."""
        return self.store.rate_get(key)[0]

    def get_expiry(self, key: str) -> float:
        """When the current window ends (epoch seconds)."""
        return self.store.rate_get(key)[1]

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            self.store.ping()
            return True
        except Exception:
            return False

    def reset(self) -> int | None:
        """Drop every counter."""
        self.store.rate_clear()
        return None

    def clear(self, key: str) -> None:
        """Drop one counter."""
        self.store.rate_clear(key)


def client_id() -> str:
    """Who is guessing: the address in CLIENT_IP_HEADER (behind a proxy) or the peer address."""
    header = current_app.config.get("CLIENT_IP_HEADER")
    if header and request.headers.get(header):
        return request.headers[header].split(",")[0].strip()[:64]
    return request.remote_addr or "unknown"


def _limiter() -> tuple[FixedWindowRateLimiter, RateLimitItemPerSecond]:
    """This app's limiter and limit, built once."""
    app = current_app
    if "token_guard" not in app.extensions:
        storage = StoreStorage(store=app.extensions["store"])
        item = RateLimitItemPerSecond(int(app.config["TOKEN_ATTEMPTS"]),
                                      int(app.config["TOKEN_ATTEMPT_WINDOW"]))
        app.extensions["token_guard"] = (FixedWindowRateLimiter(storage), item)
    return app.extensions["token_guard"]


def retry_after() -> int | None:
    """Seconds until this client may try a token again, or None when it may now."""
    limiter, item = _limiter()
    if limiter.test(item, "admin-token", client_id()):
        return None
    reset = limiter.get_window_stats(item, "admin-token", client_id()).reset_time
    return max(1, math.ceil(reset - time.time()))


def refuse_if_limited() -> None:
    """Raise 429 (JSON through the API's handler) when this client has failed too often."""
    wait = retry_after()
    if wait is not None:
        raise TooManyRequests(
            f"Too many wrong admin tokens from this address: try again in {wait} s. The limit is "
            f"{current_app.config['TOKEN_ATTEMPTS']} failures per "
            f"{current_app.config['TOKEN_ATTEMPT_WINDOW']} s.", retry_after=wait)


def record_failure() -> None:
    """Count one wrong token from this client."""
    limiter, item = _limiter()
    limiter.hit(item, "admin-token", client_id())
