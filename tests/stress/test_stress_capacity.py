"""The capacity profile: stages of users with no think time until a bound, then every seat back."""
from __future__ import annotations

import json

from fault_proxy import FaultProxy
from stress_checks import DAVINCI, counters, seats_in_use


def test_capacity_stops_at_the_p99_bound_and_returns_every_seat(server, stress_cli, tmp_path):
    """Through a proxy that passes one request per 50 ms (at most 20 requests/s, 10 cycles/s),
    1 user stays under a p99 of 500 ms and 16 users, queueing about 16 x 50 ms, cannot: the
    run stops after stage 2 and names stage 1 as the capacity, below the proxy's limit."""
    summary_file = tmp_path / "summary.json"
    before = counters(server.url)
    with FaultProxy(server.url, delay=0.05, one_at_a_time=True) as proxy:
        done = stress_cli("--target", proxy.url, "--profile", "capacity", "--tool", DAVINCI,
                          "--capacity-start", "1", "--capacity-step", "15",
                          "--capacity-stage-seconds", "2", "--capacity-p99-ms", "500",
                          "--yes", "--no-report", "--summary", str(summary_file), timeout=60)
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    summary = json.loads(summary_file.read_text())
    capacity = summary["capacity"]
    assert summary["stopped_by"] == "capacity-bound" and summary["mode"] == "full-cycle"
    assert [(s["users"], s["held"]) for s in capacity["stages"]] == [(1, True), (16, False)], done.stdout
    sustained, broke = capacity["sustained"], capacity["passed_bound"]
    assert sustained == capacity["stages"][0] and broke == capacity["stages"][1]
    assert 0 < sustained["borrows_per_s"] <= 10 and sustained["p99_ms"] <= 500 < broke["p99_ms"]
    assert (f"sustained         {sustained['borrows_per_s']:.0f} borrows/s at 1 user " in done.stdout)
    assert "stopped at the capacity bound" in done.stdout
    after = counters(server.url)
    assert summary["granted"] == after["granted"] - before["granted"] > 0
    assert summary["returned"] == summary["granted"] == after["returned"] - before["returned"]
    assert summary["still_held"] == 0 and sum(seats_in_use(server.url).values()) == 0
