"""The capacity-planning history: deterministic, realistic in shape, and readable back from Prometheus."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from license_demo.journeys import backfill, history
from license_demo.clients import PrometheusClient
from support.processes import free_port, spawn, wait_http

DAVINCI = "Vector - DaVinci Configurator SE"
CATALOG = [
    {"name": DAVINCI, "commit": 5, "max_overage": 15, "overage_cost": 50.0, "commit_cost_monthly": 600.0},
    {"name": "Vector - CANoe", "commit": 10, "max_overage": 5, "overage_cost": 40.0, "commit_cost_monthly": 500.0},
    {"name": "dSPACE - TargetLink", "commit": 4, "max_overage": 4, "overage_cost": 80.0, "commit_cost_monthly": 900.0},
    {"name": "MathWorks - MATLAB", "commit": 8, "max_overage": 10, "overage_cost": 20.0, "commit_cost_monthly": 200.0},
]
END = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)


def test_same_seed_same_month_other_seed_other_month():
    """A seed fixes every value; another seed gives another month."""
    first = history.to_openmetrics(history.generate(CATALOG, 7, end=END))
    again = history.to_openmetrics(history.generate(CATALOG, 7, end=END))
    other = history.to_openmetrics(history.generate(CATALOG, 8, end=END))
    assert first == again
    assert first != other
    assert first.rstrip().endswith("# EOF")


def test_weekdays_and_working_hours_dominate():
    """Seats are used on weekday working hours; nights and weekends stay near empty."""
    month = history.generate(CATALOG, 7, end=END)
    busy, quiet = [], []
    for ts, step in zip(month.timestamps, month.usage[DAVINCI]):
        at = datetime.fromtimestamp(ts, timezone.utc)
        local_hour = (at.hour + history.LOCAL_OFFSET_HOURS) % 24
        (busy if at.weekday() < 5 and 9 <= local_hour < 17 else quiet).append(step["in_use"])
    assert sum(busy) / len(busy) > 5 * (sum(quiet) / len(quiet) + 0.1)


def test_growing_team_raises_late_usage():
    """The hiring team makes the last week busier than the first."""
    month = history.generate(CATALOG, 7, end=END)
    steps_per_week = 7 * 86400 // month.step_seconds
    seats = [s["in_use"] for s in month.usage[DAVINCI]]
    assert sum(seats[-steps_per_week:]) > 1.15 * sum(seats[:steps_per_week])
    assert history.team_size("adas", 0, 30) < history.team_size("adas", 29, 30)


def test_buy_versus_overage_is_the_cheapest_option():
    """The recommendation is the minimum total over all options, computed from the data."""
    month = history.generate(CATALOG, 7, end=END)
    figure = history.buy_versus_overage(month, DAVINCI)
    totals = [o["total_per_month"] for o in figure["options"]]
    assert figure["recommended"]["total_per_month"] == min(totals)
    assert figure["overage_per_month_now"] == pytest.approx(month.total(DAVINCI, "cost"), rel=0.01)
    assert figure["recommended"]["extra_commit"] > 0
    assert figure["saving_per_month"] > 0


@pytest.mark.stack
def test_backfilled_month_reads_back_from_prometheus(tmp_path):
    """promtool blocks in a data dir: Prometheus serves 30 days with the generated values."""
    prometheus_bin = shutil.which("prometheus")
    assert prometheus_bin, "install the prometheus Debian package"
    month = history.generate(CATALOG, 11)
    data_dir = tmp_path / "prometheus"
    blocks = backfill.create_blocks(history.to_openmetrics(month), data_dir)
    assert blocks
    port = free_port()
    (tmp_path / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n")
    proc = spawn("prometheus", [prometheus_bin, f"--config.file={tmp_path / 'prometheus.yml'}",
                                f"--storage.tsdb.path={data_dir}", "--storage.tsdb.retention.time=60d",
                                f"--web.listen-address=127.0.0.1:{port}"], tmp_path / "prometheus.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30, proc=proc.proc)
        prom = PrometheusClient(f"http://127.0.0.1:{port}")
        selector = f'{{instance="history",tool="{DAVINCI}"}}'
        first, last = month.timestamps[0], month.timestamps[-1]
        days = (last - first) / 86400
        assert days >= 29.9
        samples = prom.scalar(f"count_over_time(licenses_in_use{selector}[31d])", last)
        assert samples == len(month.timestamps)
        for index in (0, len(month.timestamps) // 3, len(month.timestamps) - 1):
            at = month.timestamps[index]
            assert prom.scalar(f"licenses_in_use{selector}", at) == month.usage[DAVINCI][index]["in_use"]
        assert prom.scalar(f"license_overage_cost_dollars_total{selector}", last) == \
            pytest.approx(month.total(DAVINCI, "cost"))
        held = prom.query('count(count_over_time(licenses_held_by_user{instance="history"}[31d]))', last)
        assert float(held[0]["value"][1]) == len(month.held)
    finally:
        proc.stop()
