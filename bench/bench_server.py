#!/usr/bin/env python3
"""Benchmark: borrow+return cycles against a trivial JSON endpoint on the same gunicorn server.

Starts `python -m license_server` (gunicorn, SQLite in a temporary folder), then drives it
from this process over loopback with N concurrent keep-alive clients (asyncio), in
alternating rounds: GET /healthz, then POST /api/borrow + POST /api/return cycles.
Prints both request rates, their ratio and p50/p99 latencies. `--tracing both` measures a
server without tracing and one exporting every span to a loopback OTLP receiver (a process of
its own, bench/otlp_receiver.py) in one run, and prints the two ratios side by side.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from license_demo.stack.processes import start_license_server

DEFAULT_TOOL = "Vector - DaVinci Configurator SE"
BENCH_TOKEN = "bench-admin-token"


class HttpConnection:
    """A minimal HTTP/1.1 keep-alive client connection (reconnects when the server closes)."""

    opened = 0  # connections opened by all clients, to tell whether the server kept them alive

    def __init__(self, host: str, port: int):
        """Remember where to connect; the socket opens on the first request."""
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, payload: dict | None = None) -> tuple[int, bytes]:
        """Send one request and return (status, body)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            HttpConnection.opened += 1
        body = json.dumps(payload).encode() if payload is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"X-Synthetic: true\r\nContent-Length: {len(body)}\r\n")
        if payload is not None:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        raw_head = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RuntimeError(f"{method} {path}: response without Content-Length")
        data = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, data

    async def close(self) -> None:
        """Close the socket if open."""
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


@dataclass
class Sample:
    """Latencies (seconds) per request kind, plus counts, for one measured phase."""

    seconds: float = 0.0
    latencies: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    cycles: int = 0

    def add(self, kind: str, latency: float) -> None:
        """Record one request's latency."""
        self.latencies.setdefault(kind, []).append(latency)

    def error(self, what: str) -> None:
        """Count one unexpected answer."""
        self.errors[what] = self.errors.get(what, 0) + 1

    def requests(self) -> int:
        """Number of answered requests."""
        return sum(len(values) for values in self.latencies.values())

    def merge(self, other: "Sample") -> None:
        """Add another phase's figures to this one."""
        self.seconds += other.seconds
        self.cycles += other.cycles
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        for what, count in other.errors.items():
            self.errors[what] = self.errors.get(what, 0) + count


async def healthz_client(conn: HttpConnection, sample: Sample, stop_at: float) -> None:
    """Fetch /healthz back to back until stop_at."""
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        status, _ = await conn.request("GET", "/healthz")
        sample.add("healthz", time.perf_counter() - started)
        if status != 200:
            sample.error(f"healthz {status}")


async def cycle_client(conn: HttpConnection, sample: Sample, stop_at: float, tool: str,
                       user: str) -> None:
    """Borrow a seat and return it, back to back, until stop_at."""
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        status, body = await conn.request("POST", "/api/borrow",
                                          {"tool": tool, "user": user, "team": "bench"})
        sample.add("borrow", time.perf_counter() - started)
        if status != 201:
            sample.error(f"borrow {status} {body[:80]!r}")
            continue
        borrow_id = json.loads(body)["id"]
        started = time.perf_counter()
        status, body = await conn.request("POST", "/api/return", {"id": borrow_id})
        sample.add("return", time.perf_counter() - started)
        if status != 200:
            sample.error(f"return {status} {body[:80]!r}")
            continue
        sample.cycles += 1


async def run_phase(kind: str, url: str, clients: int, seconds: float, tool: str) -> Sample:
    """Run `clients` concurrent clients of one kind for `seconds` and return their sample."""
    parts = urlsplit(url)
    conns = [HttpConnection(parts.hostname, parts.port) for _ in range(clients)]
    sample = Sample()
    started = time.perf_counter()
    stop_at = started + seconds
    if kind == "healthz":
        jobs = [healthz_client(conn, sample, stop_at) for conn in conns]
    else:
        jobs = [cycle_client(conn, sample, stop_at, tool, f"bench-user-{i:02d}")
                for i, conn in enumerate(conns)]
    await asyncio.gather(*jobs)
    sample.seconds = time.perf_counter() - started
    for conn in conns:
        await conn.close()
    return sample


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values, nearest-rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def prepare_tool(url: str, token: str, tool: str, clients: int) -> None:
    """Give the benchmark tool enough commit seats that no borrow is ever refused."""
    response = requests.put(f"{url}/api/config/tools/{requests.utils.quote(tool, safe='')}",
                            json={"commit": max(100, clients * 4), "max_overage": 0},
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    if response.status_code != 200:
        raise SystemExit(f"could not raise the seats of {tool!r} through the config API: "
                         f"HTTP {response.status_code} {response.text[:200]}\n"
                         "Check --admin-token (or ADMIN_TOKEN of the server you pointed --url at).")


def describe(kind: str, values: list[float]) -> str:
    """One line: count, p50 and p99 latency in milliseconds."""
    return (f"  {kind:<8} {len(values):>8} requests   p50 {percentile(values, 50) * 1000:6.2f} ms"
            f"   p99 {percentile(values, 99) * 1000:6.2f} ms")


def report(health: Sample, cycles: Sample, args: argparse.Namespace, cpu_seconds: float) -> dict:
    """Print rates, ratio and latencies, say whether the aim is met; return the key figures."""
    health_rate = health.requests() / health.seconds
    api_rate = cycles.requests() / cycles.seconds
    api_latencies = cycles.latencies.get("borrow", []) + cycles.latencies.get("return", [])
    ratio = api_rate / health_rate
    p99 = percentile(api_latencies, 99) * 1000
    requests_sent = health.requests() + cycles.requests()
    reuse = requests_sent / max(1, HttpConnection.opened)
    print(f"\nlicense server, {args.workers} gunicorn workers, {args.clients} concurrent "
          f"clients, {args.rounds} x {args.duration:g} s per kind")
    print(f"requests per TCP connection: {reuse:.1f} "
          f"({'kept alive' if reuse > 1.5 else 'the server closes after each response'})")
    print(f"GET /healthz              {health_rate:8.0f} requests/s")
    print(f"POST borrow + return      {api_rate:8.0f} requests/s  "
          f"({cycles.cycles / cycles.seconds:.0f} cycles/s)")
    print(f"ratio borrow+return / healthz   {ratio:.2f}   (aim: >= 0.50)")
    print("latency")
    print(describe("healthz", health.latencies.get("healthz", [0.0])))
    for kind in ("borrow", "return"):
        print(describe(kind, cycles.latencies.get(kind, [0.0])))
    print(describe("api", api_latencies or [0.0]))
    print(f"p99 borrow/return {p99:.1f} ms   (aim: < 25 ms)")
    print(f"load generator CPU: {cpu_seconds:.1f} s over "
          f"{health.seconds + cycles.seconds:.1f} s measured")
    errors = {**health.errors, **cycles.errors}
    if errors:
        print("unexpected answers: " + ", ".join(f"{k} x{v}" for k, v in errors.items()))
    verdict = "met" if ratio >= 0.5 and p99 < 25 and not errors else "NOT met"
    scope = "" if args.clients == 20 else f" (the aim is stated for 20 clients; this run used {args.clients})"
    print(f"aim {verdict}{scope}")
    return {"ratio": ratio, "api_rate": api_rate, "health_rate": health_rate, "p99_ms": p99}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Measure borrow+return cycles against GET /healthz on the same gunicorn "
                    "server (started here on SQLite in a temporary folder, unless --url).",
        epilog="Example: .venv/bin/python -m bench.bench_server --duration 10 --clients 20")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds measured per kind and round (default 10)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating healthz / borrow+return rounds, to even out noise "
                             "(default 2)")
    parser.add_argument("--clients", type=int, default=20,
                        help="concurrent clients, each reusing its connection when the server "
                             "keeps it alive (default 20)")
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn workers of the server started here (default 2)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of unmeasured load before each kind's first round "
                             "(default 2)")
    parser.add_argument("--tool", default=DEFAULT_TOOL,
                        help=f"tool to borrow (default {DEFAULT_TOOL!r}); its commit is raised "
                             "so no borrow is refused")
    parser.add_argument("--url", help="benchmark an already running server instead of "
                                      "starting one (it needs --admin-token)")
    parser.add_argument("--admin-token", default=os.environ.get("ADMIN_TOKEN", BENCH_TOKEN),
                        help="admin token of the server given with --url (default $ADMIN_TOKEN)")
    parser.add_argument("--tracing", choices=("off", "on", "both"), default="off",
                        help="the started server without tracing (off, default), exporting every "
                             "span over OTLP/HTTP to a loopback receiver (on), or one after the "
                             "other in this run with both ratios compared (both)")
    parser.add_argument("--database-url",
                        help="DATABASE_URL for the started server (default SQLite in a "
                             "temporary folder)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.clients < 1 or args.workers < 1 or args.rounds < 1:
        parser.error("--duration, --clients, --workers and --rounds must be positive")
    if args.url and args.tracing != "off":
        parser.error("--tracing needs the server started here (leave out --url)")
    return args


def measure(url: str, args: argparse.Namespace) -> dict:
    """Warm up, run the alternating rounds, print the report and return its key figures."""
    prepare_tool(url, args.admin_token, args.tool, args.clients)
    health, cycles = Sample(), Sample()
    for kind in ("healthz", "cycles"):
        print(f"warming up {kind} for {args.warmup:g} s ...", file=sys.stderr, flush=True)
        asyncio.run(run_phase(kind, url, args.clients, args.warmup, args.tool))
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    HttpConnection.opened = 0
    for round_no in range(1, args.rounds + 1):
        for kind, total in (("healthz", health), ("cycles", cycles)):
            sample = asyncio.run(run_phase(kind, url, args.clients, args.duration, args.tool))
            total.merge(sample)
            print(f"round {round_no}/{args.rounds} {kind:<8} "
                  f"{sample.requests() / sample.seconds:7.0f} requests/s", file=sys.stderr,
                  flush=True)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return report(health, cycles, args, cpu)


class Receiver:
    """bench/otlp_receiver.py in a process of its own, so decoding spans costs this load
    generator nothing."""

    def __enter__(self):
        """Start it and read its URL."""
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.otlp_receiver"],
                                     stdout=subprocess.PIPE, text=True,
                                     cwd=Path(__file__).resolve().parents[1])
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.proc.kill()
            raise SystemExit("the OTLP receiver (bench/otlp_receiver.py) did not start")
        return self

    def received(self) -> str:
        """Stop it and return its last line: spans received and refused."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=30)
        return out.strip().splitlines()[-1] if out.strip() else "no answer"

    def __exit__(self, *_exc):
        """Make sure it is gone."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_server(args: argparse.Namespace, tracing_url: str | None) -> dict:
    """Start a server (exporting spans to `tracing_url` when given), measure it, stop it."""
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        env = {"ADMIN_TOKEN": args.admin_token}
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        if tracing_url:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = tracing_url
        print(f"starting license server ({args.workers} workers, tracing "
              f"{'to ' + tracing_url if tracing_url else 'off'}) ...", file=sys.stderr, flush=True)
        server = start_license_server(Path(tmp), env=env, workers=args.workers)
        try:
            print(f"server at {server.url}", file=sys.stderr, flush=True)
            return measure(server.url, args)
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    """Start the server (unless --url), measure, stop it."""
    args = parse_args(argv)
    if args.url:
        measure(args.url.rstrip("/"), args)
        return 0
    figures = {}
    if args.tracing in ("off", "both"):
        figures["off"] = run_server(args, None)
    if args.tracing in ("on", "both"):
        with Receiver() as receiver:
            figures["on"] = run_server(args, receiver.url)
            print(f"OTLP receiver: {receiver.received()}")
    if len(figures) == 2:
        off, on = figures["off"], figures["on"]
        print(f"\ntracing off: ratio {off['ratio']:.2f}, borrow+return {off['api_rate']:.0f} "
              f"requests/s, p99 {off['p99_ms']:.1f} ms")
        print(f"tracing on:  ratio {on['ratio']:.2f}, borrow+return {on['api_rate']:.0f} "
              f"requests/s, p99 {on['p99_ms']:.1f} ms (every span exported)")
        print(f"borrow+return throughput with tracing: {on['api_rate'] / off['api_rate']:.0%} of "
              "the untraced server's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
