"""Why a run fails (exit code 1): failed requests above a ratio, latency above a bound.

Like Locust's `process_exit_code` pattern: each limit is checked on the finished run's
summary and every limit that trips is named, in the summary and on stderr.
"""
from __future__ import annotations

from stress_test.settings import RunSettings


def exit_reasons(data: dict, settings: RunSettings) -> list[str]:
    """One sentence per limit the run passed; empty when it stayed within all of them."""
    reasons = []
    if data["fail_ratio"] > settings.max_fail_ratio:
        reasons.append(f"{data['errors']} of {data['requests']} requests failed "
                       f"({data['fail_ratio']:.2%}), above --max-fail-ratio {settings.max_fail_ratio:.2%}")
    overall = data["requests_ms"]
    for name, bound in (("p95", settings.max_p95_ms), ("p99", settings.max_p99_ms)):
        if bound is not None and overall[name] is not None and overall[name] > bound:
            reasons.append(f"{name} of all {overall['count']} requests {overall[name]:.0f} ms, "
                           f"above --max-{name}-ms {bound:g}")
    return reasons
