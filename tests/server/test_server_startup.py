"""Start-up cannot race: workers booting together on a fresh database always come up."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

DRIVER = Path(__file__).with_name("boot_driver.py")
REPO = Path(__file__).resolve().parents[2]


def run_driver(tmp_path, *args: str, timeout: float) -> dict:
    """Run boot_driver.py in a fresh process; return its JSON summary."""
    done = subprocess.run([sys.executable, str(DRIVER), *args, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.stdout, done.stderr[-3000:]
    summary = json.loads(done.stdout.splitlines()[-1])
    summary["returncode"] = done.returncode
    return summary


def test_workers_initialising_one_fresh_file_at_once_never_fail(tmp_path):
    """Eight processes open, create and seed one new SQLite file at the same instant, 20 times."""
    summary = run_driver(tmp_path, "--init-race", "20", timeout=120)
    assert summary["rounds"] == 20 and summary["failed"] == [], summary["failed"][:3]
    assert summary["returncode"] == 0


def busy_loops(seconds: float) -> list[subprocess.Popen]:
    """One CPU-burning process per core, each ending by itself after `seconds`."""
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 1)]


# 20 boots of 4 workers (80 workers racing to open one fresh database) under full CPU load;
# `python tests/server/boot_driver.py --boots 200` runs a longer hunt by hand.
BOOTS = 20


def test_boots_with_four_workers_under_cpu_load(tmp_path):
    """`python -m license_server --workers 4` comes up every time out of BOOTS on a busy machine."""
    load = busy_loops(120)
    started = time.monotonic()
    try:
        summary = run_driver(tmp_path, "--boots", str(BOOTS), "--workers", "4", timeout=240)
    finally:
        for burner in load:
            burner.kill()
            burner.wait(timeout=10)
    assert summary["boots"] == BOOTS
    assert summary["failed"] == [], json.dumps(summary["failed"][:2], indent=1)
    assert summary["returncode"] == 0
    print(f"{BOOTS} boots in {time.monotonic() - started:.1f}s, median {summary['median_seconds']}s, "
          f"slowest {summary['max_seconds']}s")
