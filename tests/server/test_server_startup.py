"""Start-up cannot race: workers booting together on a fresh database always come up."""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

from license_server.config import DEFAULTS, load_tools
from license_server.store import Store

CATALOG = load_tools(DEFAULTS["TOOLS_FILE"])
DRIVER = Path(__file__).with_name("boot_driver.py")
REPO = Path(__file__).resolve().parents[2]


def init_in_process(url: str, start, results) -> None:
    """Child process: wait for the start signal, then do what each worker does at boot."""
    start.wait(timeout=30)
    try:
        store = Store.from_url(url)
        store.init_schema()
        store.seed_tools(CATALOG)
        results.put("ok")
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(repr(exc))


def test_workers_initialising_one_fresh_file_at_once_never_fail(tmp_path):
    """Eight processes open, create and seed one new SQLite file at the same instant, 20 times."""
    # forkserver: children forked from a fresh single-threaded process, not from pytest's,
    # whose threads (log shippers, sweepers of earlier tests) may hold locks at fork time.
    context = multiprocessing.get_context("forkserver")
    failures = []
    for round_ in range(20):
        url = f"sqlite:///{tmp_path / f'fresh-{round_}.db'}"
        start, results = context.Event(), context.Queue()
        children = [context.Process(target=init_in_process, args=(url, start, results))
                    for _ in range(8)]
        for child in children:
            child.start()
        start.set()
        answers = [results.get(timeout=60) for _ in children]
        for child in children:
            child.join(timeout=30)
        failures += [answer for answer in answers if answer != "ok"]
        assert len(Store.from_url(url).list_tools()) == len(CATALOG)
    assert not failures, failures[:3]


def busy_loops(seconds: float) -> list[subprocess.Popen]:
    """One CPU-burning process per core, each ending by itself after `seconds`."""
    code = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 1)]


def test_fifty_boots_with_four_workers_under_cpu_load(tmp_path):
    """`python -m license_server --workers 4` comes up 50 times out of 50 on a busy machine."""
    load = busy_loops(180)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(DRIVER), "--boots", "50", "--workers", "4", "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=240,
            env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        for burner in load:
            burner.kill()
            burner.wait(timeout=10)
    assert done.stdout, done.stderr[-3000:]
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["boots"] == 50
    assert summary["failed"] == [], json.dumps(summary["failed"][:2], indent=1)
    assert done.returncode == 0
    print(f"50 boots in {time.monotonic() - started:.1f}s, median {summary['median_seconds']}s, "
          f"slowest {summary['max_seconds']}s")
