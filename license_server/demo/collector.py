"""Scrape-time gauges of the demo state: active faults and act markers, read from the database."""
from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from license_server.demo import acts, faults


class DemoStateCollector:
    """Yields license_fault_active and license_demo_act_timestamp_seconds at each scrape."""

    def __init__(self, store):
        """Read through `store`, the same one the API writes to."""
        self.store = store

    def describe(self):
        """No fixed description: the families are built at scrape time."""
        return []

    def collect(self):
        """One family per gauge, filled from the database."""
        active = GaugeMetricFamily("license_fault_active",
                                   "1 while a fault switch is on in that variant, else 0.",
                                   labels=["fault", "variant"])
        for labels, value in faults.fault_gauge_samples(self.store):
            active.add_metric([labels["fault"], labels["variant"]], value)
        yield active
        started = GaugeMetricFamily("license_demo_act_timestamp_seconds",
                                    "Unix time the act of a demo journey last started.",
                                    labels=["journey", "act"])
        for labels, value in acts.act_gauge_samples(self.store):
            started.add_metric([labels["journey"], labels["act"]], value)
        yield started
