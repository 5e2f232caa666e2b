"""Lost borrow answers: the stress test retries with the same key and its counts stay exact.

The stress CLI runs through `fault_proxy.FaultProxy`, which loses the answer of some borrows
after the server granted them and resets others before the server saw them. The server's own
records (/metrics, /api/tools, /api/borrows) must still agree with the summary seat for seat.
"""
from __future__ import annotations

import json

import requests
from fault_proxy import LOST, RESET, FaultProxy
from stress_checks import DAVINCI, counters, seats_in_use

# Per new Idempotency-Key, the faults of its first sends: one lost answer, one reset, and a
# lost answer followed by a reset (the third send of that borrow gets through).
PLAN = [[], [LOST], [], [RESET], [], [LOST, RESET]]


def run_through_faults(server, stress_cli, tmp_path, *args: str):
    """One stress CLI run through the fault proxy: the finished process, its summary, the proxy."""
    summary_file = tmp_path / "summary.json"
    with FaultProxy(server.url, PLAN) as proxy:
        done = stress_cli("--target", proxy.url, "--profile", "custom", *args, "--yes",
                          "--max-seconds", "30", "--summary", str(summary_file), timeout=60)
    assert summary_file.exists(), done.stderr + done.stdout[-2000:]
    return done, json.loads(summary_file.read_text()), proxy


def assert_retried_with_the_same_key(done, summary: dict, proxy: FaultProxy) -> None:
    """One key per operation, every faulted send sent again with it, each resend a retry.

    Checked after the seats, so that a broken retry shows first in the seats it costs.
    """
    log = proxy.log
    assert log.count(LOST) > 0 and log.count(RESET) > 0, "the plan should have faulted borrows"
    assert len(log.sends) == summary["operations"], "one Idempotency-Key per borrow operation"
    assert all(log.sends[key] == len(faults) + 1 for key, faults in log.faults.items()), \
        "a faulted borrow is sent again with its key until it gets an answer"
    assert summary["retries"] == log.count(LOST) + log.count(RESET)
    assert summary["errors"] == 0 and summary["failure_reasons"] == {}
    assert summary["granted"] + summary["refused"] == summary["operations"]
    # Retries that got their answer fail no run, even under the default --max-fail-ratio.
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]


def test_full_cycle_through_lost_answers_returns_every_seat_it_was_granted(server, stress_cli,
                                                                          tmp_path):
    """A lost answer's seat comes back on the retry: granted as the server counts, all returned."""
    before = counters(server.url)
    done, summary, proxy = run_through_faults(server, stress_cli, tmp_path, "--workers", "6",
                                              "--ops", "10", "--mode", "full-cycle",
                                              "--tool", DAVINCI)
    after = counters(server.url)
    assert summary["operations"] == 60
    for name in ("granted", "overage", "cost", "returned"):
        assert summary[name] == after[name] - before[name], name
    assert sum(seats_in_use(server.url).values()) == 0
    assert requests.get(f"{server.url}/api/borrows", timeout=10).json() == []
    # Each worker gave back the seat it borrowed; none was left for the end of the run.
    assert summary["returned"] == summary["granted"] and summary["returned_at_stop"] == 0
    assert_retried_with_the_same_key(done, summary, proxy)


def test_borrow_only_through_lost_answers_holds_what_the_server_shows_in_use(server, stress_cli,
                                                                            tmp_path):
    """Kept seats: the summary's grants per tool are exactly the seats the server has out."""
    done, summary, proxy = run_through_faults(server, stress_cli, tmp_path, "--workers", "4",
                                              "--ops", "10", "--mode", "borrow-only",
                                              "--tool", "all")
    assert summary["operations"] == 40
    assert summary["granted"] == counters(server.url)["granted"] == summary["still_held"]
    in_use = {tool: count for tool, count in seats_in_use(server.url).items() if count}
    assert in_use == {tool: t["granted"] for tool, t in summary["per_tool"].items() if t["granted"]}
    borrows = requests.get(f"{server.url}/api/borrows", timeout=10).json()
    assert len(borrows) == summary["granted"] == len({b["id"] for b in borrows})
    assert_retried_with_the_same_key(done, summary, proxy)
