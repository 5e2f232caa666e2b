"""The stress test against a real license server: exact counts, no leaks, numbers that agree."""
from __future__ import annotations

import json

import requests
from stress_checks import DAVINCI, counters, seats_in_use, tool_state


def test_heavy_borrow_only_takes_every_davinci_seat_and_refuses_the_rest(server, stress_cli, tmp_path):
    """Heavy = 20 x 100 = 2000 borrows on 5 commit + 15 overage: 20 granted, 1980 refused."""
    summary_file = tmp_path / "summary.json"
    done = stress_cli("--target", server.url, "--profile", "heavy", "--mode", "borrow-only",
                      "--tool", DAVINCI, "--yes", "--summary", str(summary_file), timeout=150)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    summary = json.loads(summary_file.read_text())
    assert (summary["operations_planned"], summary["operations"]) == (2000, 2000)
    assert summary["completed"] and summary["stopped_by"] == "done"
    assert (summary["granted"], summary["commit"], summary["overage"]) == (20, 5, 15)
    assert summary["refused"] == 1980
    assert summary["errors"] == 0 and summary["returned"] == 0
    assert summary["cost"] == 15 * tool_state(server.url, DAVINCI)["overage_cost"]
    assert summary["latency_ms"]["borrow"]["count"] == 2000
    state = tool_state(server.url, DAVINCI)
    assert (state["commit_in_use"], state["overage_in_use"], state["available"]) == (5, 15, 0)
    # The live output shows the run as it goes, then the summary table.
    assert "granted 20 (5 commit / 15 overage)" in done.stdout
    assert "refused           1980" in done.stdout


def test_full_cycle_returns_every_seat_and_matches_the_server_counters(server, stress_cli, tmp_path):
    """More workers than seats, full cycles: the summary equals /metrics and nothing stays in use."""
    summary_file = tmp_path / "summary.json"
    before = counters(server.url)
    done = stress_cli("--target", server.url, "--profile", "custom", "--workers", "24",
                      "--ops", "10", "--mode", "full-cycle", "--tool", DAVINCI, "--yes",
                      "--summary", str(summary_file), timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    summary = json.loads(summary_file.read_text())
    after = counters(server.url)
    assert summary["operations"] == 240 and summary["granted"] + summary["refused"] == 240
    assert summary["overage"] > 0, "24 workers on 20 seats should reach overage"
    for field in ("granted", "overage", "refused", "returned", "cost"):
        assert summary[field] == after[field] - before[field], field
    assert summary["returned"] == summary["granted"]
    assert summary["errors"] == 0 == after["failures"] - before["failures"] - summary["refused"]
    assert sum(seats_in_use(server.url).values()) == 0
    assert requests.get(f"{server.url}/api/borrows", timeout=10).json() == []
    assert set(summary["latency_ms"]) == {"borrow", "return"}
    assert all(summary["latency_ms"][name][p] is not None
               for name in ("borrow", "return") for p in ("p50", "p95", "p99"))


def test_mixed_teams_spread_over_tools_and_marked_synthetic(server, stress_cli, tmp_path):
    """Mixed teams borrow several tools as roster engineers; the server logs them as synthetic."""
    summary_file = tmp_path / "summary.json"
    done = stress_cli("--target", server.url, "--profile", "custom", "--workers", "10",
                      "--ops", "8", "--mode", "mixed-teams", "--tool", "all", "--seed", "7",
                      "--yes", "--summary", str(summary_file), timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    summary = json.loads(summary_file.read_text())
    assert summary["operations"] == 80 and len(summary["per_tool"]) >= 4
    assert sum(seats_in_use(server.url).values()) == 0
    log_lines = [json.loads(line) for line in server.log_path.read_text().splitlines()
                 if line.startswith("{")]
    borrows = [line for line in log_lines if line.get("event") == "borrow"]
    assert len(borrows) == summary["granted"]
    assert all(line.get("synthetic") is True for line in borrows)
    assert all(line.get("request_id", "").startswith("stress-") for line in borrows)
    teams = {line["team"] for line in borrows}
    assert len(teams) >= 3 and teams <= {"powertrain", "adas", "body-electronics", "chassis",
                                         "infotainment"}


def test_spike_makes_exactly_the_budget_and_returns_every_seat(server, stress_cli, tmp_path):
    """Spike mode ramps users up and down yet makes exactly workers x ops borrows."""
    summary_file = tmp_path / "summary.json"
    done = stress_cli("--target", server.url, "--profile", "custom", "--workers", "12",
                      "--ops", "5", "--mode", "spike", "--tool", DAVINCI, "--yes",
                      "--summary", str(summary_file), timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    summary = json.loads(summary_file.read_text())
    assert summary["operations"] == 60 == summary["granted"] + summary["refused"]
    assert summary["returned"] == summary["granted"]
    assert sum(seats_in_use(server.url).values()) == 0


def test_server_errors_are_failures_and_fail_the_run(server, stress_cli, tmp_path, admin_token):
    """With a quarter of borrows answering 503, the run counts them as errors and exits 1."""
    requests.put(f"{server.url}/api/faults/borrow_errors", json={"variant": "25pct"}, timeout=10,
                 headers={"Authorization": f"Bearer {admin_token}"}).raise_for_status()
    summary_file = tmp_path / "summary.json"
    done = stress_cli("--target", server.url, "--profile", "custom", "--workers", "4",
                      "--ops", "10", "--mode", "borrow-only", "--tool", "all", "--yes",
                      "--summary", str(summary_file), timeout=120)
    assert done.returncode == 1, done.stderr + done.stdout[-2000:]
    assert "above --max-fail-ratio" in done.stderr
    summary = json.loads(summary_file.read_text())
    server_errors = counters(server.url)["failures"] - counters(server.url)["refused"]
    assert summary["errors"] == server_errors > 0
    assert summary["granted"] + summary["refused"] + summary["errors"] == 40
    assert any("HTTP 503" in reason for reason in summary["failure_reasons"])
