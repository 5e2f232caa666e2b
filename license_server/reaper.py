"""Reclaims seats whose lease ran out, as real license managers do when a client dies."""
from __future__ import annotations

import threading
import time

from license_server import events, periodic


def reclaim(store) -> list[dict]:
    """Reclaim every expired lease once, logging and counting each one."""
    expired = store.reap_expired()
    for seat in expired:
        events.lease_expired(seat)
    return expired


def start(store, interval: float, idempotency_seconds: float | None = None,
          stop: threading.Event | None = None) -> threading.Thread | None:
    """Sweep every `interval` seconds in a daemon thread until `stop` is set (each worker runs
    one; the guarded UPDATE in the store lets exactly one of them reclaim a given seat). The
    sweep also forgets Idempotency-Keys older than `idempotency_seconds`."""
    def sweep():
        reclaim(store)
        if idempotency_seconds:
            store.forget_idempotency_keys(time.time() - idempotency_seconds)

    return periodic.run_every(interval, sweep, "lease-reaper", stop)
