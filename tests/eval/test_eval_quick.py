"""The reduced eval (cases marked quick) on the native stack: the built-in investigator, the MCP-only one and
an external command reach the same, right answers; the deliberately weakened investigators lose points.

The full suite is `license-demo eval` (docs/agents.md); this subset keeps the test command short.
"""
from __future__ import annotations

import sys

import pytest

from license_demo.evaluation import investigators
from license_demo.evaluation.cases import load_all
from license_demo.evaluation.lab import Lab
from license_demo.evaluation.runner import run_case, table, totals

pytestmark = pytest.mark.stack

COMMAND = f"cmd:{sys.executable} -m license_demo.evaluation.mcp_agent"
SAME = ("detection", "localisation", "root_cause")


def test_quick_subset_scores_every_investigator_and_the_weakened_ones_lose(native_stack, tmp_path):
    scored = [investigators.parse(s) for s in ("built-in", "mcp", COMMAND, "weak:ignores-tool",
                                               "weak:always-raise-commit")]
    runs = [run_case(Lab(native_stack), case, scored, tmp_path, progress=lambda line: None, with_fix=False)
            for case in load_all(quick=True)]
    assert [r.setup_error for r in runs] == [None] * len(runs)
    result = totals(runs)
    shown = table(runs)
    for name in ("built-in", "mcp", COMMAND):
        assert result[name]["steps_passed"] == result[name]["steps"] == 4 * len(runs), (name, shown)
    for run in runs:
        by = {o.investigator: o.answer for o in run.outcomes}
        for other in ("mcp", COMMAND):
            assert {k: by[other][k] for k in SAME} == {k: by["built-in"][k] for k in SAME}, (run.case.name, other)
            assert by[other]["mitigation"]["action"] == by["built-in"]["mitigation"]["action"]
    # The suite can fail: each weakened investigator loses steps, and the table shows them.
    for weak in ("weak:ignores-tool", "weak:always-raise-commit"):
        assert result[weak]["steps_passed"] < result["built-in"]["steps_passed"], shown
        assert any(line.startswith(f"| ") and weak in line and "✗" in line for line in shown.splitlines())
