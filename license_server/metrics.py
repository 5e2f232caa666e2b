"""Prometheus metrics: event counters, state read from the store at scrape time, /metrics.

Counters use prometheus_client's multiprocess mode under gunicorn (PROMETHEUS_MULTIPROC_DIR
set before this module is imported), so every worker's increments are summed per scrape.
Seat state lives in the database and is read by StoreCollector, so it is right across
workers and restarts by construction.
"""
from __future__ import annotations

import os

from flask import Blueprint, Response, current_app
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Histogram, disable_created_metrics, generate_latest,
                               multiprocess)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

bp = Blueprint("metrics", __name__)
# `_created` series double the exposition and no dashboard reads them.
disable_created_metrics()

BORROW_SUCCESS = Counter("license_borrow_success", "Seats granted.", ["tool"])
OVERAGE_CHECKOUTS = Counter("license_overage_checkouts", "Seats granted as overage.", ["tool"])
BORROW_FAILURES = Counter("license_borrow_failures", "Borrows refused or failed, by reason.",
                          ["tool", "reason"])
RETURNS = Counter("license_returns", "Seats returned by their borrower.", ["tool"])
OVERAGE_COST = Counter("license_overage_cost_dollars", "Overage charges in US dollars.", ["tool"])
CHECKOUTS_BY_USER = Counter("license_checkouts_by_user", "Seats granted per user and team.",
                            ["tool", "user", "team"])
LEASE_EXPIRATIONS = Counter("license_lease_expirations", "Seats reclaimed after their lease ran out.",
                            ["tool"])
FORCE_RETURNS = Counter("license_force_returns", "Seats freed by an admin force-return.", ["tool"])
CONFIG_CHANGES = Counter("license_config_changes", "Tool configuration fields changed.", ["tool"])
ALERT_NOTIFICATIONS = Counter("license_alert_notifications", "Alertmanager notifications received.",
                              ["alertname", "status"])
LOG_LINES_DROPPED = Counter("license_log_lines_dropped", "Log lines dropped by the Loki push queue.")
HTTP_REQUESTS = Counter("license_http_requests", "HTTP requests by route template, method, status.",
                        ["route", "method", "status"])
HTTP_DURATION = Histogram("license_http_request_duration_seconds", "HTTP request duration.",
                          ["route", "method"],
                          buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


class StoreCollector:
    """Gauges of seats, users and configuration, read from the database at each scrape."""

    def __init__(self, store, build_info):
        """Read through `store`; `build_info()` returns the running version and commit."""
        self.store = store
        self.build_info = build_info

    def describe(self):
        """No fixed description: families are built at scrape time."""
        return []

    def collect(self):
        """Yield one family per gauge."""
        tools = self.store.list_tools()
        gauges = {
            "licenses_in_use": ("Seats in use now.", "in_use"),
            "licenses_commit": ("Prepaid commit seats.", "commit"),
            "licenses_overage": ("Overage seats in use now.", "overage_in_use"),
            "licenses_max_overage": ("Seats borrowable beyond commit.", "max_overage"),
            "licenses_available": ("Seats that can still be borrowed.", "available"),
            # Prices, so dashboards can weigh commit seats against overage spend.
            "licenses_commit_cost_monthly_dollars": ("US dollars per commit seat and month.",
                                                     "commit_cost_monthly"),
            "licenses_overage_cost_dollars": ("US dollars charged per overage checkout.", "overage_cost"),
        }
        for name, (doc, key) in gauges.items():
            family = GaugeMetricFamily(name, doc, labels=["tool"])
            for tool in tools:
                family.add_metric([tool["name"]], tool[key])
            yield family
        held = GaugeMetricFamily("licenses_held_by_user", "Seats held now per user.",
                                 labels=["user", "team"])
        for row in self.store.held_by_user():
            held.add_metric([row["user"], row["team"] or ""], row["seats"])
        yield held
        changed = GaugeMetricFamily("license_config_last_change_timestamp_seconds",
                                    "Unix time of the latest configuration change of a tool.",
                                    labels=["tool"])
        for tool, at in self.store.last_config_changes().items():
            changed.add_metric([tool], at)
        yield changed
        build = self.build_info()
        info = GaugeMetricFamily("license_server_build_info", "Version and commit running now.",
                                 labels=["version", "commit"])
        info.add_metric([build["version"], build["commit"]], 1)
        yield info


class ProcessGroupCollector:
    """CPU seconds and resident memory of the gunicorn master and all its workers."""

    def __init__(self):
        """Read /proc; page size and clock ticks are fixed per machine."""
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")

    def describe(self):
        """No fixed description."""
        return []

    def _stat(self, pid: int) -> list[str] | None:
        """The fields of /proc/<pid>/stat after the command name, or None."""
        try:
            with open(f"/proc/{pid}/stat") as handle:
                return handle.read().rsplit(")", 1)[1].split()
        except OSError:
            return None

    def collect(self):
        """Sum utime+stime and rss over the master (our parent) and its children."""
        master = os.getppid()
        pids = [master]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                fields = self._stat(int(entry))
                if fields and int(fields[1]) == master:
                    pids.append(int(entry))
        cpu = rss = 0.0
        for pid in pids:
            fields = self._stat(pid)
            if fields:
                cpu += (int(fields[11]) + int(fields[12])) / self.ticks
                rss += int(fields[21]) * self.page
        yield CounterMetricFamily("process_cpu_seconds", "CPU seconds of master and workers.",
                                  value=cpu)
        yield GaugeMetricFamily("process_resident_memory_bytes",
                                "Resident memory of master and workers.", value=rss)


@bp.get("/metrics")
def metrics():
    """The Prometheus exposition of this server (all workers together)."""
    state = CollectorRegistry(auto_describe=False)
    for collector in current_app.extensions["metrics_collectors"]:
        state.register(collector)
    if current_app.config["PROMETHEUS_MULTIPROC_DIR"]:
        events = CollectorRegistry()
        multiprocess.MultiProcessCollector(events)
        state.register(ProcessGroupCollector())
        body = generate_latest(events) + generate_latest(state)
    else:
        body = generate_latest(REGISTRY) + generate_latest(state)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def init_series(tool_names: list[str]) -> None:
    """Create every per-tool counter at 0, so rate() sees the first event as an increase."""
    for tool in tool_names:
        for counter in (BORROW_SUCCESS, OVERAGE_CHECKOUTS, RETURNS, OVERAGE_COST, LEASE_EXPIRATIONS,
                        FORCE_RETURNS, CONFIG_CHANGES):
            counter.labels(tool=tool)
        for reason in ("exhausted", "server_error"):
            BORROW_FAILURES.labels(tool=tool, reason=reason)


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one HTTP request and its duration."""
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_DURATION.labels(route=route, method=method).observe(seconds)

