"""Benchmark: the full overage-crisis cycle in auto mode on a fresh native stack, phase by phase.

Problem → alert → fix → alert resolved → verified with the same load (the guide's heavy
full-cycle build job on DaVinci, twice), against the demo guide's 13 minutes by hand. Run: `.venv/bin/python -m bench.bench_journey [--seed N] [--runs N]`.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from license_demo.journeys import journey_runner, timeline_report
from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.journeys.catalogue import JOURNEYS
from license_demo.stack.stack import Stack, StackSettings

GUIDE_MINUTES = 13


def one_run(stack: Stack, seed: int, workdir: Path) -> dict:
    """Reset the server, play the overage crisis once and return its report data."""
    started = time.monotonic()

    def out(line: str) -> None:
        """Progress with the elapsed time in front."""
        print(f"[{time.monotonic() - started:6.1f}s] {line}", flush=True)

    server = ServerClient(stack.server_url, stack.admin_token)
    server.reset()
    ctx = journey_runner.JourneyContext(server=server, prometheus=PrometheusClient(stack.prometheus_url),
                         alertmanager=AlertmanagerClient(stack.alertmanager_url), grafana=None,
                         mode="auto", seed=seed, workdir=workdir, alert_timeout=240, out=out)
    journey = JOURNEYS["overage-crisis"]
    timeline = journey_runner.run(journey, ctx)
    timeline_report.write(journey, timeline, workdir)
    return timeline_report.to_json(journey, timeline)


def main(argv: list[str] | None = None) -> int:
    """Start a stack, run the cycle `--runs` times, print each phase and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42, help="seed of the load (default 42)")
    parser.add_argument("--runs", type=int, default=1, help="how many cycles (default 1)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-journey-") as tmp:
        settings = StackSettings(data_dir=Path(tmp) / "stack", admin_token="bench-token", profile="demo")
        print("starting the native stack (demo profile)...", flush=True)
        with Stack(settings, progress=lambda line: print("  " + line, flush=True)) as stack:
            results = []
            for run in range(args.runs):
                try:
                    results.append(one_run(stack, args.seed + run, Path(tmp) / "reports"))
                except DemoError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 1
    print("\nphase                        " + "  ".join(f"run {i + 1:>2}" for i in range(len(results))))
    for index, phase in enumerate(results[0]["phases"]):
        cells = "  ".join(f"{r['phases'][index]['seconds']:6.1f}s" for r in results)
        print(f"{phase['phase']:<28} {cells}")
    totals = [r["total_seconds"] for r in results]
    print(f"{'total (problem to verified)':<28} " + "  ".join(f"{t:6.1f}s" for t in totals))
    for key in ("overage_share_before_fix", "overage_share_after_fix",
                "overage_cost_first_run", "overage_cost_rerun", "alert_during_rerun"):
        print(f"{key:<28} " + "  ".join(f"{r['measurements'][key]:>7}" for r in results))
    print(f"\nby hand, per the demo guide: about {GUIDE_MINUTES} min; automated: "
          f"{max(totals) / 60:.1f} min at most over {len(totals)} run(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
