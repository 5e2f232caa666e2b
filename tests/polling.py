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


def alerts_quiet(stack, tool: str, timeout: float = 120.0) -> None:
    """Wait until no alert on `tool` is pending or firing in Prometheus nor active in Alertmanager.

    A test that needs a fresh firing notification waits for this first: an alert still active
    in Alertmanager from an earlier test gets no new one (the server's record, which a reset
    clears, does not tell).
    """
    from license_demo.clients import AlertmanagerClient

    until(lambda: not stack.query(f'ALERTS{{tool="{tool}"}}')
          and not any(a["labels"].get("tool") == tool for a in AlertmanagerClient(stack.alertmanager_url).active()),
          timeout, f"earlier tests' alerts on {tool} resolving", poll=1.0)
