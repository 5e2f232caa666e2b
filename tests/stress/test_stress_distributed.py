"""More load than one process: Locust's master and workers, with exact counts and seats.

`--processes N` forks N Locust workers; `--master` waits for workers started with
`--worker --master-host H`. Either way the run makes exactly workers x ops borrows, the
master's summary equals the server's counters, and no seat stays borrowed, even after
Ctrl-C on the master while the workers' returns fail.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

from fault_proxy import FaultProxy
from stress_checks import DAVINCI, REPO, counters, seats_in_use, tool_state

from stress_test.population import TEAMS
from support.processes import free_port


def start_workers(port: int, count: int = 2) -> list[subprocess.Popen]:
    """`count` worker processes of the master on 127.0.0.1:`port`."""
    return [subprocess.Popen([sys.executable, "-m", "stress_test", "--worker", "--master-host",
                              "127.0.0.1", "--master-port", str(port)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(count)]


def stop_all(procs: list[subprocess.Popen]) -> None:
    """Kill what is still running (a failed test)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_exact(summary: dict, server_url: str, before: dict, operations: int) -> None:
    """The run made `operations` borrows, counted as the server counted them, and returned all."""
    after = counters(server_url)
    assert summary["operations"] == operations == summary["granted"] + summary["refused"]
    assert summary["granted"] == after["granted"] - before["granted"]
    assert summary["refused"] == after["refused"] - before["refused"]
    assert summary["returned"] == summary["granted"] == after["returned"] - before["returned"]
    assert summary["latency_ms"]["borrow"]["count"] == operations
    assert summary["still_held"] == 0 and summary["errors"] == 0
    assert sum(seats_in_use(server_url).values()) == 0


def test_processes_2_makes_exactly_workers_times_ops_borrows(server, stress_cli, tmp_path):
    """Two forked workers share 6 x 4 operations; the HTML report is the master's, of all."""
    before = counters(server.url)
    done = stress_cli("--target", server.url, "--profile", "custom", "--workers", "6", "--ops", "4",
                      "--mode", "full-cycle", "--tool", DAVINCI, "--processes", "2", "--yes",
                      "--report-dir", str(tmp_path / "reports"), timeout=90)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    assert "2 worker processes" in done.stdout and "2 workers connected." in done.stdout
    summary = json.loads(next((tmp_path / "reports").glob("*/summary.json")).read_text())
    assert_exact(summary, server.url, before, 24)
    stats = (tmp_path / "reports").glob("*/locust_stats.csv").__next__().read_text()
    assert "POST,borrow,24,0," in stats


def test_master_and_two_workers_make_exactly_the_budget(server, tmp_path):
    """A master on loopback with two `--worker` processes: 5 x 3 borrows in all."""
    port = free_port()
    summary_file = tmp_path / "summary.json"
    before = counters(server.url)
    master = subprocess.Popen([sys.executable, "-m", "stress_test", "--target", server.url,
                               "--profile", "custom", "--workers", "5", "--ops", "3",
                               "--mode", "full-cycle", "--tool", DAVINCI, "--master",
                               "--expect-workers", "2", "--master-port", str(port), "--yes",
                               "--no-report", "--summary", str(summary_file)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = start_workers(port)
    try:
        out, err = master.communicate(timeout=90)
        assert master.returncode == 0, err + out[-2000:]
        for worker in workers:
            worker.wait(timeout=30)
    finally:
        stop_all([master, *workers])
    assert "master of 2 worker(s) on 127.0.0.1:" in out
    worker_out = [worker.stdout.read() for worker in workers]
    assert all("against " + server.url in text and "the run has ended" in text for text in worker_out)
    summary = json.loads(summary_file.read_text())
    assert_exact(summary, server.url, before, 15)
    borrows = requests_log(server)
    assert len(borrows) == 15 and {b["team"] for b in borrows} == {"body-electronics"}
    # Each user takes its slot from the master: five users, the team's five engineers.
    assert {b["user"] for b in borrows} == set(TEAMS["body-electronics"])


def requests_log(server) -> list[dict]:
    """The server's `borrow` log lines."""
    return [line for line in map(json.loads, filter(lambda l: l.startswith("{"),
                                                     server.log_path.read_text().splitlines()))
            if line.get("event") == "borrow"]


def test_ctrl_c_on_the_master_returns_every_seat_every_worker_holds(server, tmp_path):
    """Each seat's first four returns fail (the user's and the worker's three at stop): after
    Ctrl-C on the master the workers' final accounts still list them, and the master returns
    them from the merged ledger."""
    port = free_port()
    summary_file = tmp_path / "summary.json"
    with FaultProxy(server.url, failed_returns=4) as proxy:
        master = subprocess.Popen([sys.executable, "-m", "stress_test", "--target", proxy.url,
                                   "--profile", "custom", "--workers", "4", "--ops", "100",
                                   "--mode", "full-cycle", "--tool", DAVINCI, "--master",
                                   "--expect-workers", "2", "--master-port", str(port), "--yes",
                                   "--no-report", "--max-fail-ratio", "1", "--summary",
                                   str(summary_file)], cwd=REPO, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        workers = start_workers(port)
        try:
            deadline = time.monotonic() + 40
            while tool_state(server.url, DAVINCI)["in_use"] < 6 and time.monotonic() < deadline:
                time.sleep(0.1)
            held = tool_state(server.url, DAVINCI)["in_use"]
            master.send_signal(2)
            out, err = master.communicate(timeout=90)
            for worker in workers:
                worker.wait(timeout=30)
        finally:
            stop_all([master, *workers])
    assert held >= 6
    assert master.returncode == 130, err + out[-2000:]
    summary = json.loads(summary_file.read_text())
    assert summary["stopped_by"] == "interrupted"
    assert f"Returning {summary['returned_at_stop']} seat(s) still held..." in out
    assert summary["returned_at_stop"] >= held - 4 and summary["still_held"] == 0
    assert summary["returned"] == summary["granted"]
    assert sum(seats_in_use(server.url).values()) == 0
    assert requests_log_returned(server) == summary["granted"]


def requests_log_returned(server) -> int:
    """Seats the server logged as returned."""
    return sum(1 for line in map(json.loads, filter(lambda l: l.startswith("{"),
                                                     server.log_path.read_text().splitlines()))
               if line.get("event") == "return")
