"""Alertmanager sends a group's changes once per group_interval, and an alert that fires again
before its resolved notification went out is, to the group's log, the alert already notified:
no new notification until repeat_interval. The wait that journeys and tests make before they
need a fresh alert (`alert_wait.unflushed_selector`) lasts until that resolved notification
has been sent."""
from __future__ import annotations

import secrets
import time

import pytest
import requests

from license_demo.alert_wait import unflushed_selector
from license_demo.clients import AlertmanagerClient, PrometheusClient, received_at
from support.polling import until

pytestmark = pytest.mark.stack

DAVINCI = "Vector - DaVinci Configurator SE"


def test_the_wait_for_a_fresh_alert_ends_after_the_resolved_notification(native_stack):
    stack = native_stack
    user = f"flush-{secrets.token_hex(3)}"       # an alert of its own: labels no earlier test used
    alertmanager = AlertmanagerClient(stack.alertmanager_url)
    assert alertmanager.group_interval() == 10.0          # the demo profile's, read from Alertmanager
    unflushed = unflushed_selector(alertmanager, PrometheusClient(stack.prometheus_url))
    stack.reset()
    started = time.time()
    try:
        for _ in range(11):                               # one seat above the hoarding threshold
            requests.post(f"{stack.server_url}/api/borrow", timeout=10,
                          json={"tool": DAVINCI, "user": user, "team": "powertrain"}).raise_for_status()
        stack.wait_for_webhook("SingleUserHoarding", labels={"user": user}, since=started, timeout=60)
        stack.admin("POST", f"/api/users/{user}/force-return")
        returned = time.time()
        until(lambda: not stack.query(f'ALERTS{{user="{user}"}}'), 30, "the alert resolving in Prometheus")

        # Quiet in Prometheus, but its resolved notification may still wait for the group's flush.
        assert unflushed(f'user="{user}"')
        until(lambda: not unflushed(f'user="{user}"'), 40, "the wait for Alertmanager's flush ending")
        resolved = [a for a in stack.alerts_received("resolved")
                    if a["labels"].get("alertname") == "SingleUserHoarding" and a["labels"].get("user") == user
                    and received_at(a) >= returned]
        assert resolved, "the wait ended before Alertmanager sent the resolved notification"
    finally:
        stack.reset()
