"""`python -m stress_test compare A B`: how run B differs from run A.

A and B are report folders (each holds the run's summary.json) or summary files written
with --summary. Throughput, latency percentiles per request, failures and the overage share
are printed side by side with B's change against A.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stress_test.reports import SUMMARY


class CompareError(Exception):
    """A run cannot be read; the message says what to give instead."""


def load(path: Path) -> dict:
    """The summary of one run, from its report folder or its summary file."""
    file = path / SUMMARY if path.is_dir() else path
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError as exc:
        raise CompareError(f"{file} does not exist; give a report folder (it holds {SUMMARY}) "
                           "or a file written with --summary") from exc
    except (OSError, ValueError) as exc:
        raise CompareError(f"{file} is not a stress-test summary ({exc})") from exc
    if not isinstance(data, dict) or "latency_ms" not in data or "duration" not in data:
        raise CompareError(f"{file} is not a stress-test summary (no latency_ms or duration)")
    return data


def rows(data: dict) -> dict[str, float | None]:
    """The compared figures of one run, by label."""
    duration = data["duration"] or None
    figures = {
        "operations/s": data["rate"],
        "requests/s": round(data["requests"] / duration, 1) if duration else None,
        "borrows granted": data["granted"],
        "borrows refused": data["refused"],
    }
    for name, latency in sorted(data["latency_ms"].items()):
        for q in ("p50", "p95", "p99"):
            figures[f"{name} {q} ms"] = latency[q]
    granted = data["granted"]
    figures.update({
        "failed requests": data["errors"],
        "fail ratio %": round(100 * data["fail_ratio"], 2),
        "overage share %": round(100 * data["overage"] / granted, 1) if granted else None,
    })
    return figures


def change(before: float | None, after: float | None) -> str:
    """B against A: the difference and, where it means something, the percentage."""
    if before is None or after is None:
        return "-"
    diff = after - before
    text = f"{diff:+,.1f}" if isinstance(before, float) or isinstance(after, float) else f"{diff:+,}"
    if before:
        text += f" ({diff / before:+.0%})"
    return text


def describe(label: str, data: dict) -> str:
    """Which run a column is."""
    return (f"{label}: {data['profile']} {data['mode']}, {data['tool']}, {data['operations']} "
            f"operations in {data['duration']:.1f} s, {data['target']}")


def table(a: dict, b: dict) -> str:
    """The comparison as lines of text."""
    first, second = rows(a), rows(b)
    lines = [describe("A", a), describe("B", b)]
    if a["target"] != b["target"]:
        lines.append("note: the runs loaded different targets; the differences include the servers'")
    lines += ["", f"  {'':<18}{'A':>12}{'B':>12}   B - A"]
    for label in dict.fromkeys([*first, *second]):
        before, after = first.get(label), second.get(label)
        lines.append(f"  {label:<18}{_cell(before):>12}{_cell(after):>12}   {change(before, after)}")
    return "\n".join(lines)


def _cell(value) -> str:
    """One figure for the table."""
    if value is None:
        return "-"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def main(argv: list[str], stdout=None) -> int:
    """Compare two runs; 0, or 2 when one cannot be read."""
    stdout = stdout or sys.stdout
    parser = argparse.ArgumentParser(
        prog="python -m stress_test compare",
        description="Compare two stress-test runs: throughput, latency percentiles, failures "
                    "and overage share, with B's change against A.",
        epilog="A and B: report folders (stress-reports/<time>_<target>_<profile>) or "
               "summary files written with --summary.")
    parser.add_argument("a", type=Path, metavar="A", help="the earlier (baseline) run")
    parser.add_argument("b", type=Path, metavar="B", help="the run compared with it")
    args = parser.parse_args(argv)
    try:
        a, b = load(args.a), load(args.b)
    except CompareError as exc:
        sys.stderr.write(f"compare: {exc}\n")
        return 2
    stdout.write(table(a, b) + "\n")
    return 0
