"""The stress test reaches the server: one full borrow-and-return cycle through the real script."""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import PROBE_TOOL, REPO, Targets

RUN_TIMEOUT = 90


def check(targets: Targets, report: Report) -> None:
    """Run `python -m stress_test` for one operation on a tool outside the story."""
    report.section("Stress test")
    if not targets.stress_test:
        report.skip("stress.reach", "stress test not tried (--no-stress-test)")
        return
    with tempfile.TemporaryDirectory() as folder:
        summary_path = Path(folder) / "summary.json"
        argv = [sys.executable, "-m", "stress_test", "--target", targets.server, "--profile", "custom",
                "--workers", "1", "--ops", "1", "--mode", "full-cycle", "--tool", PROBE_TOOL,
                "--user-prefix", "preflight", "--yes", "--max-seconds", "30", "--no-report", "--summary", str(summary_path)]
        try:
            done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            report.fail("stress.reach", f"the stress test did not finish one operation in {RUN_TIMEOUT} s",
                        f"run it by hand to see where it hangs: cd stress_test && ./run_stress_test.sh "
                        f"--target {targets.server}")
            return
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if done.returncode == 0 and summary.get("granted", 0) >= 1 and summary.get("still_held", 0) == 0:
        report.ok("stress.reach", f"stress test reaches {targets.server}: one borrow and return of "
                                  f"{PROBE_TOOL} in {summary.get('duration', 0):.1f} s")
        return
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    report.fail("stress.reach", f"the stress test failed against {targets.server} (exit {done.returncode}: "
                                f"{' / '.join(tail)[:300]})",
                "run `cd stress_test && ./run_stress_test.sh` and pick this target; for Fly.io set FLY_APP_URL "
                "or keep fly.toml next to it; `make venv` installs locust")
