"""Locust's reports of a run, comparing two runs, latency limits as exit reasons."""
from __future__ import annotations

import csv
import json

from fault_proxy import FaultProxy
from stress_checks import DAVINCI, seats_in_use


def report_folder(base) -> object:
    """The one run folder under `base`."""
    folders = [path for path in base.iterdir() if path.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def test_a_run_writes_locust_html_and_csv_reports_and_a_latency_bound_fails_it(
        server, stress_cli, tmp_path, browser):
    """The report folder (time, target, profile) holds an HTML report that shows the borrow
    row in Chromium and CSVs with Locust's columns; p95 over --max-p95-ms exits 1, named."""
    reports = tmp_path / "reports"
    done = stress_cli("--target", server.url, "--profile", "custom", "--workers", "3", "--ops", "4",
                      "--mode", "full-cycle", "--tool", DAVINCI, "--yes", "--report-dir",
                      str(reports), "--max-p95-ms", "0.01", timeout=60)
    assert done.returncode == 1, done.stderr + done.stdout[-2000:]
    folder = report_folder(reports)
    port = server.url.rsplit(":", 1)[1]
    assert folder.name.endswith(f"_127.0.0.1-{port}_custom")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["report"] == str(folder) and f"report            {folder}/report.html" in done.stdout
    reason = f"p95 of all {summary['requests']} requests"
    assert any(r.startswith(reason) and r.endswith("above --max-p95-ms 0.01")
               for r in summary["exit_reasons"])
    assert "exit 1: " + reason in done.stdout and reason in done.stderr
    assert sum(seats_in_use(server.url).values()) == 0

    with open(folder / "locust_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert {"borrow", "return", "Aggregated"} <= set(rows)
    assert int(rows["borrow"]["Request Count"]) == 12 and rows["borrow"]["Failure Count"] == "0"
    assert {"95%", "99%", "Median Response Time", "Requests/s"} <= set(rows["borrow"])
    with open(folder / "locust_stats_history.csv", newline="") as handle:
        history = list(csv.DictReader(handle))
    assert {"Timestamp", "User Count", "Requests/s", "95%", "Total Request Count"} <= set(history[0])
    assert {row["Name"] for row in history} >= {"borrow", "Aggregated"}
    for name in ("failures", "exceptions"):
        assert (folder / f"locust_{name}.csv").read_text().count("\n") >= 1

    page = browser.new_page()
    try:
        page.goto((folder / "report.html").as_uri())
        page.get_by_text("Request Statistics").first.wait_for(timeout=15000)
        borrow_row = page.locator("tr", has_text="borrow").first
        borrow_row.wait_for(timeout=15000)
        assert "POST" in borrow_row.inner_text() and "12" in borrow_row.inner_text()
        assert server.url in page.content()
    finally:
        page.close()


def test_compare_shows_the_latency_a_slower_path_added(server, stress_cli, tmp_path):
    """Run A direct, run B through a proxy adding 50 ms to each borrow and return:
    `compare A B` shows the borrow p50 about 50 ms higher and the rate lower."""
    reports = tmp_path / "reports"
    args = ("--profile", "custom", "--workers", "2", "--ops", "2", "--mode", "full-cycle",
            "--tool", DAVINCI, "--yes", "--report-dir")
    first = stress_cli("--target", server.url, *args, str(reports / "a"), timeout=60)
    with FaultProxy(server.url, delay=0.05) as proxy:
        second = stress_cli("--target", proxy.url, *args, str(reports / "b"), timeout=60)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    a, b = report_folder(reports / "a"), report_folder(reports / "b")
    done = stress_cli("compare", str(a), str(b / "summary.json"), timeout=30)
    assert done.returncode == 0, done.stderr
    before, after = (json.loads((f / "summary.json").read_text()) for f in (a, b))
    p50 = after["latency_ms"]["borrow"]["p50"] - before["latency_ms"]["borrow"]["p50"]
    assert 40 <= p50 <= 120, done.stdout
    borrow = next(line.split() for line in done.stdout.splitlines()
                  if line.startswith("  borrow p50 ms"))
    assert borrow[3:6] == [f"{before['latency_ms']['borrow']['p50']:,.1f}",
                           f"{after['latency_ms']['borrow']['p50']:,.1f}", f"{p50:+,.1f}"]
    rate = next(line.split() for line in done.stdout.splitlines() if line.startswith("  operations/s"))
    assert rate[1:3] == [f"{before['rate']:,.1f}", f"{after['rate']:,.1f}"]
    # The slower path lowers the rate; the table shows it to 0.1/s, which can tie on 4 operations.
    assert after["operations"] / after["duration"] < before["operations"] / before["duration"]
    assert "note: the runs loaded different targets" in done.stdout
    missing = stress_cli("compare", str(a), str(tmp_path / "nothing"), timeout=30)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
