"""Background work of each worker: call a function every few seconds until the app stops."""
from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


def run_every(interval: float, work: Callable[[], object], name: str,
              stop: threading.Event | None = None) -> threading.Thread | None:
    """Call `work()` every `interval` seconds in a daemon thread named `name` until `stop` is
    set; None when `interval` is 0 or less. An error is logged and the next round runs: a
    database hiccup must not end the work for the worker's lifetime."""
    if interval <= 0:
        return None
    stop = stop or threading.Event()

    def loop():
        while not stop.wait(interval):
            try:
                work()
            except Exception:
                log.exception("%s failed", name)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread
