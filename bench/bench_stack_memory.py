"""Resident memory of the native stack's processes after a burst of borrows (sizes the compose limits).

    .venv/bin/python -m bench.bench_stack_memory [--seconds 20]

Prints the RSS of the license server (gunicorn master and workers), Prometheus and
Alertmanager next to the memory limits docker-compose.yml gives them.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

from license_demo.clients import ServerClient
from license_demo.stack.stack import Stack, StackSettings

REPO = Path(__file__).resolve().parent.parent

COMPOSE_NAMES = {"license-server": "license-server", "prometheus": "prometheus",
                 "alertmanager": "alertmanager"}


def rss_mib(pid: int) -> float:
    """Resident memory of `pid` and all its descendants, in MiB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> int:
    """Start the native stack, load it, print RSS per process against the compose limits."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="load duration (default 20)")
    args = parser.parse_args()
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    limits = {name: s["deploy"]["resources"]["limits"]["memory"]
              for name, s in compose["services"].items()}
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(StackSettings(data_dir=Path(tmp), admin_token="bench-token")).start()
        try:
            print(f"loading {stack.server_url} for {args.seconds:.0f} s ...", flush=True)
            stop, n = time.monotonic() + args.seconds, 0
            tools = [t["name"] for t in ServerClient(stack.server_url).tools()]
            while time.monotonic() < stop:
                response = requests.post(f"{stack.server_url}/api/borrow", json={
                    "tool": tools[n % len(tools)], "user": f"user{n % 40}", "team": "bench"})
                if response.status_code == 201 and n % 2:
                    requests.post(f"{stack.server_url}/api/return",
                                  json={"id": response.json()["id"]})
                n += 1
            time.sleep(6)
            print(f"{n} borrows; resident memory after the load:")
            for managed in stack.processes:
                print(f"  {managed.name:15s} {rss_mib(managed.proc.pid):7.1f} MiB"
                      f"   (compose limit {limits[COMPOSE_NAMES[managed.name]]})")
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
