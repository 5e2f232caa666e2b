"""The end of a run: the summary as data (for --summary FILE) and as a table for the terminal."""
from __future__ import annotations

import json
import math
from pathlib import Path

from stress_test.run_state import RunState


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile `q` (0..1) of `values`, None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def latency(values: list[float]) -> dict:
    """Count and p50/p95/p99 in milliseconds of one request type."""
    return {"count": len(values),
            **{f"p{int(q * 100)}": _ms(percentile(values, q)) for q in (0.5, 0.95, 0.99)}}


def _ms(value: float | None) -> float | None:
    """Milliseconds rounded for reading."""
    return None if value is None else round(value, 1)


def summary(run: RunState, stopped_by: str) -> dict:
    """Everything a run did, as a JSON-ready dict."""
    settings, total = run.settings, run.total()
    duration = run.elapsed
    return {
        "target": settings.target,
        "profile": settings.profile.name,
        "mode": settings.mode,
        "tool": settings.tool_label or ", ".join(settings.tools),
        "tools": settings.tools,
        "workers": settings.profile.workers,
        "ops_per_worker": settings.profile.ops,
        "seed": settings.seed,
        "team": settings.team or "all",
        "operations_planned": run.quota.total,
        "operations": run.quota.finished,
        "completed": run.quota.done,
        "stopped_by": stopped_by,
        "granted": total.granted,
        "commit": total.commit,
        "overage": total.overage,
        "refused": total.refused,
        "returned": total.returned,
        "already_returned": run.already_returned,
        "returned_at_stop": run.cleanup_returned,
        "still_held": len(run.held),
        "errors": run.failures,
        "requests": run.requests,
        "fail_ratio": round(run.fail_ratio, 6),
        "max_fail_ratio": settings.max_fail_ratio,
        "failure_reasons": dict(run.failure_reasons.most_common(10)),
        "retries": run.retries,
        "retry_reasons": dict(run.retry_reasons.most_common(10)),
        "cost": round(total.cost, 2),
        "duration": round(duration, 3),
        "rate": round(run.quota.finished / duration, 2) if duration > 0 else 0.0,
        "latency_ms": {name: latency(values) for name, values in sorted(run.latencies.items())},
        "requests_ms": latency([value for values in run.latencies.values() for value in values]),
        "max_p95_ms": settings.max_p95_ms,
        "max_p99_ms": settings.max_p99_ms,
        **({"capacity": run.capacity} if run.capacity else {}),
        **({"report": str(run.report.parent), "report_html": str(run.report)} if run.report else {}),
        "per_tool": {tool: {"granted": t.granted, "commit": t.commit, "overage": t.overage,
                            "refused": t.refused, "returned": t.returned, "errors": t.errors,
                            "retries": t.retries, "cost": round(t.cost, 2)}
                     for tool, t in sorted(run.tallies.items())},
    }


def write(data: dict, path: Path) -> None:
    """Write the summary JSON to `path` (folders created as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def _num(value) -> str:
    """A latency cell: milliseconds or a dash."""
    return "-" if value is None else f"{value:.0f}"


def table(data: dict) -> str:
    """The final summary table printed at the end of a run."""
    planned = data["operations_planned"]
    ops = f"{data['operations']}" + (f" / {planned}" if planned is not None else "")
    ending = {"done": "all operations done", "max-seconds": "stopped at --max-seconds",
              "interrupted": "stopped by Ctrl-C", "locust": "stopped by Locust",
              "capacity-bound": "stopped at the capacity bound",
              "capacity-max-users": "stopped at --capacity-max-users",
              "no-workers": "the workers did not connect"}
    lines = [
        "",
        f"Summary: {data['profile']} ("
        + (f"up to {data['workers']} users" if data.get("capacity") else
           f"{data['workers']} workers x {data['ops_per_worker']} ops") + "), "
        f"{data['mode']}, {data['tool']}",
        f"  target            {data['target']}",
        f"  operations        {ops} in {data['duration']:.1f} s ({data['rate']:.1f} ops/s), "
        f"{ending.get(data['stopped_by'], data['stopped_by'])}",
        f"  granted           {data['granted']}  (commit {data['commit']}, overage {data['overage']})",
        f"  refused           {data['refused']}  (409: no seat left)",
        f"  returned          {data['returned']}"
        + (f"  ({data['returned_at_stop']} at stop)" if data["returned_at_stop"] else ""),
        f"  still held        {data['still_held']}",
        f"  errors            {data['errors']} of {data['requests']} requests "
        f"({data['fail_ratio']:.2%}, limit {data['max_fail_ratio']:.2%})",
        *([f"  retries           {data['retries']}  (borrows sent again with the same key after no answer)"]
          if data.get("retries") else []),
        f"  overage cost      ${data['cost']:,.2f}",
        "",
        f"  {'request':<10}{'count':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}",
    ]
    for name, row in data["latency_ms"].items():
        lines.append(f"  {name:<10}{row['count']:>8}{_num(row['p50']):>9}{_num(row['p95']):>9}"
                     f"{_num(row['p99']):>9}")
    for reason, count in data["failure_reasons"].items():
        lines.append(f"  failure x{count}: {reason}")
    for reason, count in data.get("retry_reasons", {}).items():
        lines.append(f"  retry x{count}: {reason}")
    if data.get("capacity"):
        from stress_test.capacity import capacity_lines
        lines += ["", *capacity_lines(data["capacity"])]
    for reason in data.get("exit_reasons", []):
        lines.append(f"  exit 1: {reason}")
    if data.get("report"):
        lines.append(f"\n  report            {data['report_html']}  (CSVs and summary.json beside it)")
    return "\n".join(lines)
