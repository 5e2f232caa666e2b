"""Benchmark: time from the first overage borrow to HighOverageRate at the webhook (demo profile).

    python -m bench.bench_detection [--runs 5] [--hold 45]

Starts a native stack (license server, Prometheus, Alertmanager) on free loopback ports.
Each run resets the server, waits until no HighOverageRate is active, runs the heavy
borrow-only load on DaVinci (the stress test when installed, else 20 threads of borrows)
and measures, with the server's own timestamps, from the first overage borrow
(`borrowed_at`) to the webhook's receipt of HighOverageRate (`received_at`). The first run
then keeps a steady overage load (returns and re-borrows) for --hold seconds and counts
flaps: polls where Prometheus no longer shows the alert firing, and resolved notifications.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.overage_load import DAVINCI, first_overage_borrow_at, heavy_borrow_load, stress_test_available, wait_until
from license_demo.clients import received_at
from license_demo import deploy_configs
from license_demo.stack.stack import Stack, StackSettings

TOKEN = "bench-admin-token"


def high_overage_active(stack: Stack) -> bool:
    """True while Prometheus has HighOverageRate pending or firing for DaVinci."""
    return bool(stack.query(f'ALERTS{{alertname="HighOverageRate", tool="{DAVINCI}"}}'))


def webhook_alert(stack: Stack, status: str, since: float) -> dict | None:
    """The server's record of HighOverageRate for DaVinci in `status`, if received after `since`."""
    for alert in stack.alerts_received():
        labels = alert.get("labels", {})
        if (labels.get("alertname") == "HighOverageRate" and labels.get("tool") == DAVINCI
                and alert.get("status") == status and received_at(alert) >= since):
            return alert
    return None


def steady_churn(stack: Stack, stop: threading.Event) -> None:
    """Keep a steady overage load: return one held seat and borrow again, every 0.3 s."""
    rng = random.Random(7)
    while not stop.is_set():
        borrows = requests.get(f"{stack.server_url}/api/borrows", params={"tool": DAVINCI},
                               timeout=10).json()
        if borrows:
            victim = rng.choice(borrows)
            requests.post(f"{stack.server_url}/api/return", json={"id": victim["id"]}, timeout=10)
            requests.post(f"{stack.server_url}/api/borrow", timeout=10,
                          headers={"X-Synthetic": "true"},
                          json={"tool": DAVINCI, "user": victim["user"], "team": "powertrain"})
        stop.wait(0.3)


def measure_flaps(stack: Stack, hold: float) -> tuple[int, int]:
    """Hold a steady overage load for `hold` s; return (polls not firing, resolved deliveries)."""
    stop = threading.Event()
    churn = threading.Thread(target=steady_churn, args=(stack, stop), daemon=True)
    started = time.time()
    churn.start()
    gaps = 0
    try:
        while time.time() - started < hold:
            firing = stack.query(f'ALERTS{{alertname="HighOverageRate", tool="{DAVINCI}", '
                                 f'alertstate="firing"}}')
            gaps += 0 if firing else 1
            time.sleep(1)
    finally:
        stop.set()
        churn.join(timeout=10)
    resolved = 1 if webhook_alert(stack, "resolved", started) else 0
    return gaps, resolved


def one_run(stack: Stack, index: int, hold: float) -> dict:
    """Reset, load, measure the delay to the webhook; optionally check for flapping."""
    stack.reset()
    wait_until(lambda: not high_overage_active(stack), timeout=120, poll=1,
               what="HighOverageRate to clear after the reset")
    time.sleep(random.uniform(0, 5))  # a random phase against the scrape and evaluation ticks
    since = time.time()
    how = heavy_borrow_load(stack.server_url, DAVINCI)
    first = first_overage_borrow_at(stack.server_url, DAVINCI)
    if first is None:
        raise RuntimeError("the load produced no overage borrow; check the DaVinci settings")
    alert = wait_until(lambda: webhook_alert(stack, "firing", since), timeout=120,
                       what="HighOverageRate at the webhook")
    result = {"run": index, "load": how, "delay": received_at(alert) - first}
    if hold:
        result["gaps"], result["resolved"] = measure_flaps(stack, hold)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs (default 5)")
    parser.add_argument("--hold", type=float, default=45.0,
                        help="seconds of steady overage load in the first run (default 45)")
    args = parser.parse_args(argv)
    parts = deploy_configs.detection_floor("demo")
    print(f"load: {'stress_test heavy borrow-only' if stress_test_available() else 'requests burst'}"
          f" on {DAVINCI}; demo profile {parts}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-detection-") as tmp:
        stack = Stack(StackSettings(data_dir=Path(tmp) / "stack", admin_token=TOKEN),
                      progress=lambda line: print(f"  {line}", flush=True))
        with stack:
            results = []
            for index in range(1, args.runs + 1):
                result = one_run(stack, index, args.hold if index == 1 else 0)
                flaps = (f", steady load {args.hold:.0f}s: {result['gaps']} polls not firing, "
                         f"{result['resolved']} resolved notifications"
                         if "gaps" in result else "")
                print(f"run {index}: {result['delay']:.1f} s ({result['load']}){flaps}", flush=True)
                results.append(result)
    delays = [r["delay"] for r in results]
    floor = sum(parts.values())
    print(f"\nfirst overage borrow -> HighOverageRate at the webhook, {len(delays)} runs:")
    print(f"  min {min(delays):.1f} s   median {statistics.median(delays):.1f} s   "
          f"max {max(delays):.1f} s")
    print(f"  theoretical floor (scrape {parts['scrape']:g} + evaluation {parts['evaluation']:g}"
          f" + for {parts['for']:g} + group_wait {parts['group_wait']:g}): {floor:g} s; "
          f"budget for the median {deploy_configs.DETECTION_BUDGET_SECONDS:g} s")
    print(f"  flapping under steady load: {results[0].get('gaps', 'n/a')} polls not firing, "
          f"{results[0].get('resolved', 'n/a')} resolved notifications")
    return 0


if __name__ == "__main__":
    sys.exit(main())
