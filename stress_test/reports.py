"""Locust's own reports of a run, in one folder per run beside the JSON summary.

The folder is named by start time, target and profile (`20261207-153012_127.0.0.1-8000_heavy`)
and holds Locust's HTML report (`report.html`: requests per second, response times and users
over time, per-request percentiles), its CSV statistics (`locust_stats.csv`,
`locust_stats_history.csv` with a row per request type every second, `locust_failures.csv`,
`locust_exceptions.csv`) and the run's `summary.json`, which `python -m stress_test compare`
reads.
"""
from __future__ import annotations

import csv
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import gevent
from locust import stats
from locust.html import get_html_report

HTML = "report.html"
CSV_PREFIX = "locust"
SUMMARY = "summary.json"
# Where reports go without --report-dir: $STRESS_REPORT_DIR, else this folder of the repository.
DEFAULT_FOLDER = "stress-reports"
ENV_DIR = "STRESS_REPORT_DIR"


def default_dir(repo_root: Path, environ) -> Path:
    """The documented default of --report-dir."""
    return Path(environ[ENV_DIR]) if environ.get(ENV_DIR) else repo_root / DEFAULT_FOLDER


def run_folder(base: Path, target: str, profile: str, started: float | None = None) -> Path:
    """A new, empty folder for one run under `base`, named by time, target and profile."""
    parts = urlsplit(target)
    host = re.sub(r"[^A-Za-z0-9.]+", "-", parts.netloc or target).strip("-")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started or time.time()))
    folder = base / f"{stamp}_{host}_{profile}"
    number = 1
    while folder.exists():
        number += 1
        folder = base / f"{stamp}_{host}_{profile}-{number}"
    folder.mkdir(parents=True)
    return folder


class LocustReports:
    """Writes Locust's CSVs while the run goes and its HTML report at the end."""

    def __init__(self, folder: Path):
        """Reports of one run into `folder` (made by `run_folder`)."""
        self.folder = folder
        self.writer: stats.StatsCSVFileWriter | None = None
        self.greenlets: list[gevent.Greenlet] = []

    def start(self, environment) -> None:
        """Begin the CSV files and the history the HTML report's charts draw."""
        self.writer = stats.StatsCSVFileWriter(environment, stats.PERCENTILES_TO_REPORT,
                                               str(self.folder / CSV_PREFIX), full_history=True)
        self.greenlets = [gevent.spawn(self.writer.stats_writer),
                          gevent.spawn(stats.stats_history, environment.runner)]

    def finish(self, environment) -> Path:
        """Write the final statistics and the HTML report; return the report's path."""
        gevent.killall(self.greenlets)
        if self.writer is not None:
            self.writer.close_files()
            # The writer rewrites these three each second; write them once more, complete.
            for suffix, write in (("stats", self.writer.requests_csv),
                                  ("failures", self.writer.failures_csv),
                                  ("exceptions", self.writer.exceptions_csv)):
                with open(self.folder / f"{CSV_PREFIX}_{suffix}.csv", "w", newline="") as handle:
                    write(csv.writer(handle))
        html = self.folder / HTML
        html.write_text(get_html_report(environment, show_download_link=False))
        return html
