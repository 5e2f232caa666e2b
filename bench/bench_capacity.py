#!/usr/bin/env python3
"""Benchmark: the stress test's capacity profile next to bench_server's figure, same server, same run.

For each setup it starts the servers, raises the benchmark tool's commit so no borrow is
refused, measures borrow+return cycles per second with bench_server's asyncio client (the
lightest load generator this repository has), then runs `python -m stress_test --profile
capacity --processes N` and reads the capacity it found: the borrows per second the last
stage that held sustained (one borrow is one cycle). CPU seconds of the load generator and
of the servers are measured over each phase, so the output says which side is the limit.

Setups: `sqlite` (what `make demo` serves: SQLite, 2 gunicorn workers) and `postgres` (two
servers of 2 workers on one PostgreSQL 15 database, as `fly scale count 2` runs; each server
gets half the clients, and the capacity profile runs once per server at the same time).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.bench_server import BENCH_TOKEN, DEFAULT_TOOL, Sample, percentile, prepare_tool, run_phase
from license_demo.stack.processes import start_license_server

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Cpu:
    """CPU seconds used by a set of processes (and their children) between two readings."""

    pids: list[int]

    def read(self) -> float:
        """CPU seconds so far of the processes and all their descendants."""
        total = 0.0
        for pid in self.pids:
            try:
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    times = proc.cpu_times()
                    total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return total


def busy_cores() -> float:
    """CPU seconds the whole machine has been busy so far (every process)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def cycles_rate(urls: list[str], clients: int, seconds: float, tool: str) -> tuple[Sample, float]:
    """bench_server's client, `clients` split over `urls`: the merged sample and its CPU seconds."""
    async def both():
        share = max(1, clients // len(urls))
        return await asyncio.gather(*(run_phase("cycles", url, share, seconds, tool) for url in urls))
    started = time.process_time()
    samples = asyncio.run(both())
    cpu = time.process_time() - started
    merged = Sample()
    for sample in samples:
        merged.merge(sample)
    merged.seconds = max(sample.seconds for sample in samples)
    return merged, cpu


def capacity_runs(urls: list[str], args: argparse.Namespace, folder: Path) -> tuple[list[dict], float]:
    """The capacity profile against each of `urls` at the same time; summaries and CPU seconds."""
    procs, files = [], []
    for number, url in enumerate(urls):
        summary = folder / f"capacity-{number}.json"
        files.append(summary)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "stress_test", "--target", url, "--profile", "capacity",
             "--tool", args.tool, "--processes", str(args.processes), "--yes", "--no-report",
             "--capacity-p99-ms", str(args.p99_ms), "--capacity-start", str(args.start),
             "--capacity-step", str(args.step), "--capacity-stage-seconds", str(args.stage_seconds),
             "--capacity-max-users", str(args.max_users), "--max-fail-ratio", "1",
             "--summary", str(summary)], cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    cpu = Cpu([proc.pid for proc in procs])
    used = 0.0
    while any(proc.poll() is None for proc in procs):
        used = max(used, cpu.read())  # read while they live: exited children leave no times here
        time.sleep(0.2)
    for proc in procs:
        output = proc.stdout.read()
        if proc.returncode != 0:
            raise SystemExit(f"the capacity run failed (exit {proc.returncode}):\n{output[-2000:]}")
        print("\n".join(line for line in output.splitlines() if line.startswith("stage ")),
              file=sys.stderr)
    return [json.loads(path.read_text()) for path in files], used


def measure(name: str, urls: list[str], server_pids: list[int], args: argparse.Namespace) -> None:
    """Both load generators against `urls`; print the comparison."""
    for url in urls:
        prepare_tool(url, BENCH_TOKEN, args.tool, args.clients)
    servers = Cpu(server_pids)
    print(f"[{name}] warming up, then bench_server's client for {args.duration:g} s ...",
          file=sys.stderr, flush=True)
    cycles_rate(urls, args.clients, 2.0, args.tool)
    before = servers.read()
    sample, client_cpu = cycles_rate(urls, args.clients, args.duration, args.tool)
    bench_server_cpu = servers.read() - before
    bench_cycles = sample.cycles / sample.seconds
    borrows = sample.latencies.get("borrow", [0.0])
    print(f"[{name}] capacity profile with --processes {args.processes} ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        before, started, machine = servers.read(), time.monotonic(), busy_cores()
        summaries, generator_cpu = capacity_runs(urls, args, Path(tmp))
        capacity_server_cpu, capacity_seconds = servers.read() - before, time.monotonic() - started
        machine = busy_cores() - machine
    held = [s["capacity"]["sustained"] for s in summaries]
    sustained = sum(h["borrows_per_s"] for h in held if h)
    p99s = [h["p99_ms"] for h in held if h]
    print(f"\n{name}: {', '.join(urls)}")
    print(f"  bench_server client ({args.clients} clients)   {bench_cycles:7.0f} cycles/s "
          f"({2 * bench_cycles:.0f} requests/s)  borrow p50 {percentile(borrows, 50) * 1000:.1f} ms  "
          f"p99 {percentile(borrows, 99) * 1000:.1f} ms")
    print(f"      CPU: servers {bench_server_cpu / sample.seconds:.2f} cores, "
          f"client {client_cpu / sample.seconds:.2f} cores")
    for h, summary in zip(held, summaries):
        if h:
            print(f"  capacity profile, {summary['target']}: {h['borrows_per_s']:.0f} borrows/s "
                  f"sustained at {h['users']} users, p50 {h['p50_ms']} ms, p95 {h['p95_ms']} ms, "
                  f"p99 {h['p99_ms']} ms (bound {args.p99_ms:g} ms)")
        else:
            print(f"  capacity profile, {summary['target']}: no stage held under p99 {args.p99_ms:g} ms")
    print(f"  capacity profile total {sustained:7.0f} cycles/s = {sustained / bench_cycles:.0%} "
          f"of bench_server's" + (f", worst p99 {max(p99s)} ms" if p99s else ""))
    peak = sum(max((stage["borrows_per_s"] for stage in summary["capacity"]["stages"]), default=0)
               for summary in summaries)
    print(f"  capacity profile peak  {peak:7.0f} cycles/s = {peak / bench_cycles:.0%} of "
          "bench_server's (the best stage, within the bound or not, like bench_server's figure)")
    others = max(0.0, machine - capacity_server_cpu - generator_cpu)
    print(f"      CPU over {capacity_seconds:.0f} s: servers {capacity_server_cpu / capacity_seconds:.2f} "
          f"cores, stress test (master + {args.processes} workers each) "
          f"{generator_cpu / capacity_seconds:.2f} cores, other processes "
          f"{others / capacity_seconds:.2f} cores, of {psutil.cpu_count()}")
    users = {"the servers": capacity_server_cpu, "the stress test": generator_cpu,
             "other processes on this machine": others}
    print(f"  most CPU: {max(users, key=users.get)}; the stress test spends "
          f"{generator_cpu / max(capacity_server_cpu, 1e-6):.1f} CPU seconds per server CPU second")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="The stress test's capacity profile next to bench_server's borrow+return "
                    "figure on the same servers (SQLite, and two servers on one PostgreSQL).",
        epilog="Example: .venv/bin/python -m bench.bench_capacity --setup sqlite --duration 10")
    parser.add_argument("--setup", choices=["sqlite", "postgres", "both"], default="both",
                        help="which servers to measure (default both)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of bench_server's client (default 10)")
    parser.add_argument("--clients", type=int, default=20,
                        help="bench_server's concurrent clients (default 20, its own default)")
    parser.add_argument("--processes", type=int, default=2,
                        help="Locust worker processes of each capacity run (default 2)")
    parser.add_argument("--p99-ms", type=float, default=250.0,
                        help="the capacity profile's p99 bound of borrows (default 250, about "
                             "bench_server's own p99 at 20 clients on a busy 2-core machine)")
    parser.add_argument("--start", type=int, default=2, help="users of the first stage (default 2)")
    parser.add_argument("--step", type=int, default=4, help="users added per stage (default 4)")
    parser.add_argument("--stage-seconds", type=float, default=5.0,
                        help="seconds per stage (default 5)")
    parser.add_argument("--max-users", type=int, default=80, help="most users (default 80)")
    parser.add_argument("--tool", default=DEFAULT_TOOL, help=f"tool to borrow (default {DEFAULT_TOOL!r})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start each setup's servers, measure, stop them."""
    args = parse_args(argv)
    env = {"ADMIN_TOKEN": BENCH_TOKEN}
    if args.setup in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
            server = start_license_server(Path(tmp), env=env, workers=2)
            try:
                measure("SQLite, 2 workers (make demo)", [server.url], [server.proc.pid], args)
            finally:
                server.stop()
    if args.setup in ("postgres", "both"):
        from tests.support.pg_cluster import PG_BIN, start_cluster  # the tests' throwaway PostgreSQL 15
        if not (PG_BIN / "initdb").exists():
            print(f"PostgreSQL 15 is not installed ({PG_BIN}/initdb missing): the postgres setup "
                  "is skipped; `make system-deps` installs it, or set PG_BIN", file=sys.stderr)
            return 0
        cluster_run = start_cluster()
        cluster = next(cluster_run)
        servers = []
        try:
            database = cluster.new_database()
            with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
                for number in range(2):
                    folder = Path(tmp) / f"server{number}"
                    folder.mkdir()
                    servers.append(start_license_server(folder, env={**env, "DATABASE_URL": database},
                                                        workers=2))
                measure("two servers of 2 workers on one PostgreSQL", [s.url for s in servers],
                        [s.proc.pid for s in servers], args)
        finally:
            for server in servers:
                server.stop()
            next(cluster_run, None)  # stops the cluster
    return 0


if __name__ == "__main__":
    sys.exit(main())
