"""The presenter's terminal: menus answered in a pseudo-terminal, Ctrl-C typed mid-run."""
from __future__ import annotations

import json

import pexpect
import requests
from stress_checks import DAVINCI, SCRIPT, seats_in_use

from stress_test.population import BUILD_TEAM


def test_ctrl_c_in_a_terminal_returns_every_seat_of_a_full_cycle_run(server, tmp_path):
    """The guide's heavy full-cycle DaVinci run chosen in the menus; Ctrl-C while seats are
    held; every seat comes back, the summary says so and the exit code is 130."""
    catalog = requests.get(f"{server.url}/api/tools", timeout=10).json()
    tool_number = [t["name"] for t in catalog].index(DAVINCI) + 1
    summary_file = tmp_path / "summary.json"
    child = pexpect.spawn(str(SCRIPT), ["--target", server.url, "--interval", "0.5",
                                        "--summary", str(summary_file)],
                          cwd=str(SCRIPT.parent), encoding="utf-8", timeout=60,
                          dimensions=(40, 160))
    try:
        for heading, answer in (("Load profile:", "3"), ("Mode:", "1"), ("Tool:", str(tool_number)),
                                ("Team running the job:", "")):
            child.expect_exact(heading)
            child.expect(r"Choose 1-\d+ \[\d+\]: ")
            child.sendline(answer)
        child.expect_exact("heavy (20 workers x 100 operations = 2000 borrows), full-cycle")
        child.expect_exact("Start? [Y/n]: ")
        child.sendline("y")
        # Wait for a live line with seats granted and not yet returned, then type Ctrl-C.
        held = 0
        while held == 0:
            child.expect(r"granted (\d+) \(.*?returned (\d+)")
            granted, returned = (int(n) for n in child.match.groups())
            held = seats_in_use(server.url)[DAVINCI] if granted > returned else 0
        child.sendintr()
        child.expect_exact("Stopping: finishing operations in hand and returning held seats")
        child.expect_exact("stopped by Ctrl-C")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert held > 0
    assert child.exitstatus == 130, child.before
    summary = json.loads(summary_file.read_text())
    assert summary["stopped_by"] == "interrupted" and 0 < summary["operations"] < 2000
    assert (summary["mode"], summary["tool"], summary["team"]) == ("full-cycle", DAVINCI, BUILD_TEAM)
    assert summary["still_held"] == 0 and summary["returned"] == summary["granted"] > 0
    assert sum(seats_in_use(server.url).values()) == 0
