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
    """Wait until no alert on `tool` is pending or firing in Prometheus nor active in
    Alertmanager, and Alertmanager has had the time to send their resolved notification.

    A test that needs a fresh firing notification waits for this first: an alert still active
    in Alertmanager from an earlier test, or firing again before its resolved notification
    went out, gets no new one (`alert_wait.unflushed_selector`); the server's record, which a
    reset clears, does not tell.
    """
    from license_demo.alert_wait import unflushed_selector
    from license_demo.clients import AlertmanagerClient, PrometheusClient

    alertmanager = AlertmanagerClient(stack.alertmanager_url)
    unflushed = unflushed_selector(alertmanager, PrometheusClient(stack.prometheus_url))
    until(lambda: not stack.query(f'ALERTS{{tool="{tool}"}}')
          and not any(a["labels"].get("tool") == tool for a in alertmanager.active())
          and not unflushed(f'tool="{tool}"'),
          timeout, f"earlier tests' alerts on {tool} resolving and their resolved notifications sent", poll=1.0)
