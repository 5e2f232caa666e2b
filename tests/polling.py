"""Waiting in tests: poll a check until it holds, bounded in time."""
from __future__ import annotations

import time


def wait_for(check, timeout: float, poll: float = 0.5):
    """`check()`'s first truthy answer within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value or None
        time.sleep(poll)


def until(check, timeout: float = 30.0, what: str = "the condition", poll: float = 0.5):
    """`check()`'s first truthy answer; AssertionError naming `what` when `timeout` passes first."""
    value = wait_for(check, timeout, poll)
    if not value:
        raise AssertionError(f"{what}: not within {timeout:.0f}s")
    return value
