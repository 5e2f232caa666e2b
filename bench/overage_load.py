"""Heavy borrow-only load on one tool and the server-side timestamps detection is measured by."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from license_demo.journeys.load import run_stress_test
from license_demo.timestamps import epoch
from stress_test.settings import DEFAULT_SEED

DAVINCI = "Vector - DaVinci Configurator SE"


def stress_test_available() -> bool:
    """True when `python -m stress_test --help` works (the package is installed and complete)."""
    if importlib.util.find_spec("stress_test.__main__") is None:
        return False
    probe = subprocess.run([sys.executable, "-m", "stress_test", "--help"],
                           capture_output=True, timeout=60)
    return probe.returncode == 0


def borrow_burst(server_url: str, tool: str, workers: int = 20, per_worker: int = 5,
                 user_prefix: str = "build-job") -> dict:
    """Borrow without returning from `workers` threads; count the outcomes by kind."""
    def work(index: int) -> list[str]:
        outcomes = []
        with requests.Session() as session:
            for _ in range(per_worker):
                response = session.post(f"{server_url}/api/borrow", timeout=10,
                                        headers={"X-Synthetic": "true"},
                                        json={"tool": tool, "user": f"{user_prefix}-{index:02d}",
                                              "team": "powertrain"})
                if response.status_code == 201:
                    outcomes.append("overage" if response.json().get("overage") else "commit")
                else:
                    outcomes.append(f"http_{response.status_code}")
        return outcomes

    counts: dict[str, int] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for outcomes in pool.map(work, range(workers)):
            for outcome in outcomes:
                counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def heavy_borrow_load(server_url: str, tool: str, timeout: float = 180.0) -> str:
    """Run the heavy borrow-only load to its end: the stress test if present, else a burst."""
    if stress_test_available():
        run_stress_test(server_url, tool, DEFAULT_SEED, profile="heavy", mode="borrow-only", timeout=timeout,
                        out=lambda line: None)
        return "stress_test heavy borrow-only"
    borrow_burst(server_url, tool)
    return "20 threads x 5 borrows (requests)"


def first_overage_borrow_at(server_url: str, tool: str) -> float | None:
    """Epoch time of the earliest active overage borrow of `tool`, from the server's records."""
    response = requests.get(f"{server_url}/api/borrows", params={"tool": tool}, timeout=10)
    response.raise_for_status()
    stamps = [epoch(b["borrowed_at"]) for b in response.json() if b.get("overage")]
    return min(stamps) if stamps else None


def wait_until(predicate, timeout: float, poll: float = 0.25, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; return it or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"{what} not met within {timeout:.0f}s")
