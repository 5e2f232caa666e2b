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
    everyone = [investigators.parse(s) for s in ("built-in", "mcp", COMMAND, "weak:ignores-tool",
                                                 "weak:always-raise-commit")]
    # The tool named in the question only matters in the decoy: the build job asks the three that differ there.
    asked = {"build-job-held": [i for i in everyone if i.name in ("built-in", "mcp", "weak:always-raise-commit")],
             "decoy-other-tool": everyone}
    quick = load_all(quick=True)
    assert sorted(c.name for c in quick) == sorted(asked)
    runs = [run_case(Lab(native_stack), case, asked[case.name], tmp_path, progress=lambda line: None,
                     with_fix=False) for case in quick]
    assert [r.setup_error for r in runs] == [None] * len(runs)
    result = totals(runs)
    shown = table(runs)
    for name, cases in (("built-in", 2), ("mcp", 2), (COMMAND, 1)):
        assert result[name]["steps_passed"] == result[name]["steps"] == 4 * cases, (name, shown)
    for run in runs:
        by = {o.investigator: o.answer for o in run.outcomes}
        for other in {"mcp", COMMAND} & set(by):
            assert {k: by[other][k] for k in SAME} == {k: by["built-in"][k] for k in SAME}, (run.case.name, other)
            assert by[other]["mitigation"]["action"] == by["built-in"]["mitigation"]["action"]
    # The suite can fail: each weakened investigator loses steps where the built-in one passes, and the table shows it.
    for weak in ("weak:ignores-tool", "weak:always-raise-commit"):
        assert result[weak]["steps_passed"] < result[weak]["steps"], shown
        assert any(f"| {weak} |" in line and "✗" in line for line in shown.splitlines()), shown
