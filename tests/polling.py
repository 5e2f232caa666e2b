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
    Alertmanager, and has stayed so for one group_interval of the stack's profile.

    A test that needs a fresh firing notification waits for this first. An alert still active
    in Alertmanager from an earlier test gets no new notification (the server's record, which a
    reset clears, does not tell). Nor does one that fires again before Alertmanager has flushed
    its resolved notification: its group's log still counts the alert as notified as firing,
    so the new firing waits for repeat_interval (1 h). Alertmanager flushes a group every
    group_interval, hence the settling time.
    """
    from license_demo.clients import AlertmanagerClient
    from license_demo.deploy_configs.timings import PROFILES
    from rule_source.durations import duration_seconds

    def quiet() -> bool:
        return (not stack.query(f'ALERTS{{tool="{tool}"}}')
                and not any(a["labels"].get("tool") == tool
                            for a in AlertmanagerClient(stack.alertmanager_url).active()))

    settle = duration_seconds(PROFILES[stack.settings.profile]["group_interval"]) + 3
    deadline = time.monotonic() + timeout
    while True:
        until(quiet, max(deadline - time.monotonic(), 1.0), f"earlier tests' alerts on {tool} resolving", poll=1.0)
        if wait_for(lambda: not quiet(), settle, poll=1.0) is None:
            return
