"""What the stress-test tests share: where the CLI is, and reading the license server back
(counters, seats in use)."""
from __future__ import annotations

from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "stress_test" / "run_stress_test.sh"
DAVINCI = "Vector - DaVinci Configurator SE"


def counters(url: str, tool: str | None = None) -> dict[str, float]:
    """The server's own business counters from /metrics, summed (over one tool if given)."""
    wanted = {"license_borrow_success": "granted", "license_overage_checkouts": "overage",
              "license_returns": "returned", "license_overage_cost_dollars": "cost",
              "license_borrow_failures": "failures"}
    totals = {name: 0.0 for name in [*wanted.values(), "refused"]}
    text = requests.get(f"{url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name not in wanted:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total") or (tool and sample.labels.get("tool") != tool):
                continue
            totals[wanted[family.name]] += sample.value
            if family.name == "license_borrow_failures" and sample.labels.get("reason") == "exhausted":
                totals["refused"] += sample.value
    return totals


def seats_in_use(url: str) -> dict[str, int]:
    """Seats in use per tool, from GET /api/tools."""
    return {tool["name"]: tool["in_use"] for tool in requests.get(f"{url}/api/tools", timeout=10).json()}


def tool_state(url: str, name: str) -> dict:
    """One tool's live state, from GET /api/tools."""
    return next(t for t in requests.get(f"{url}/api/tools", timeout=10).json() if t["name"] == name)
