"""The evaluation's data and arithmetic, without a stack: case files, the answer schema, scoring, bounded answers."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from license_demo.agents.answers import bounded
from license_demo.evaluation import cases
from license_demo.evaluation.answer_schema import AnswerError, STEPS, normalise
from license_demo.evaluation.scoring import score

RIGHT = {"detection": {"alert": "HighOverageRate"},
         "localisation": {"tool": "Vector - DaVinci Configurator SE", "team": "body-electronics"},
         "root_cause": "build_job",
         "mitigation": {"action": ["notify-team", "raise-commit"],
                        "parameters": {"raise-commit": {"commit": {"min": 8, "max": 16}}}}}


def answer(**overrides) -> dict:
    """A normalised answer that meets RIGHT, with `overrides`."""
    raw = {"detection": {"alert": "HighOverageRate"},
           "localisation": {"tool": "Vector - DaVinci Configurator SE", "team": "body-electronics"},
           "root_cause": "build_job", "mitigation": {"action": "notify-team", "parameters": {"team": "body-electronics"}},
           "actions": [{"action": "notify-team", "parameters": {}},
                       {"action": "raise-commit", "parameters": {"commit": 12, "max_overage": 8}}]}
    raw.update(overrides)
    return normalise(raw)


def test_every_case_file_loads_with_the_four_steps_and_a_quick_subset():
    loaded = cases.load_all()
    assert len(loaded) >= 11 and len({c.name for c in loaded}) == len(loaded)
    assert all(set(STEPS) <= set(c.expect) and c.question and c.description for c in loaded)
    assert {c.name for c in cases.load_all(quick=True)} == {"build-job-held", "decoy-other-tool"}
    fixes = {c.name: c.fix for c in loaded if c.fix}
    assert set(fixes) == {"build-job", "build-job-held"}
    assert all(f["action"] == "raise-commit" and f["rerun"] and f["quiet"]["alert"] == "HighOverageRate"
               for f in fixes.values())


@pytest.mark.parametrize("text, message", [
    ("name: x\nquestion: q\n", "missing expect"),
    ("name: x\nquestion: q\nexpect: {detection: {alert: null}}\n", "missing localisation, root_cause, mitigation"),
    ("name: x\nquestion: q\nsetup: [{explode: {}}]\nexpect: {detection: {}, localisation: {}, root_cause: null, "
     "mitigation: {}}\n", "unknown step 'explode'"),
    ("- just a list\n", "a case is a mapping"),
    ("name: x\nquestion: q\nexpect: {detection: {}, localisation: {}, root_cause: null, mitigation: {}}\n"
     "fix: {action: raise-commit}\n", "fix needs action"),
])
def test_a_bad_case_file_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(cases.CaseError, match="bad.yaml") as caught:
        cases.load(path)
    assert message in str(caught.value)


def test_a_right_answer_passes_every_step():
    assert all(s.passed for s in score(RIGHT, answer()).values())


@pytest.mark.parametrize("overrides, failed, why", [
    ({"detection": {"alert": None}}, "detection", "expected 'HighOverageRate', got None"),
    ({"localisation": {"tool": "Vector - CANoe", "team": "body-electronics"}}, "localisation", "tool"),
    ({"root_cause": "commit_too_low"}, "root_cause", "build_job"),
    ({"mitigation": {"action": "rollback"}, "actions": [{"action": "rollback"}]}, "mitigation", "action"),
    # Right first action, but the commit it would set is out of range.
    ({"actions": [{"action": "notify-team"}, {"action": "raise-commit", "parameters": {"commit": 40}}]},
     "mitigation", "raise-commit.commit"),
    # A constrained action that is not proposed at all.
    ({"actions": [{"action": "notify-team"}]}, "mitigation", "raise-commit: not proposed"),
])
def test_each_wrong_step_fails_alone_with_its_reason(overrides, failed, why):
    result = score(RIGHT, answer(**overrides))
    assert [s for s, v in result.items() if not v.passed] == [failed]
    assert why in result[failed].why


def test_none_and_not_expectations():
    expect = {"detection": {"alert": None}, "localisation": {"user": {"not": "lena"}}, "root_cause": None,
              "mitigation": {"action": None}}
    quiet = normalise({})
    assert all(s.passed for s in score(expect, quiet).values())
    blamed = normalise({"localisation": {"user": "lena"}, "mitigation": {"action": "force-return"}})
    assert [s for s, v in score(expect, blamed).items() if not v.passed] == ["localisation", "mitigation"]


@pytest.mark.parametrize("raw, message", [
    ([], "JSON object"), ({"detection": "HighOverageRate"}, "must be objects"),
    ({"mitigation": {"action": 3}}, "mitigation.action must be a string"),
    ({"actions": "raise-commit"}, "actions must be a list")])
def test_answers_outside_the_schema_are_refused_by_field(raw, message):
    with pytest.raises(AnswerError, match=message):
        normalise(raw)


def test_bounded_answers_state_what_was_cut():
    payload = {"series": [{"metric": {"tool": f"t{i}"}, "value": "1"} for i in range(1000)], "note": "x" * 5000}
    out = bounded(payload, limit=4000)
    assert len(json.dumps(out)) <= 4000
    assert any("series" in t and "of 1000 items" in t for t in out["truncated"])
    assert any("note" in t and "of 5000 characters" in t for t in out["truncated"])
    assert bounded({"a": [1, 2]}) == {"a": [1, 2]}


def test_eval_cli_lists_cases_and_refuses_unknown_ones_before_starting_anything():
    listed = subprocess.run([sys.executable, "-m", "license_demo.cli", "eval", "--list"], capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0 and "build-job-held" in listed.stdout and "quick" in listed.stdout
    unknown = subprocess.run([sys.executable, "-m", "license_demo.cli", "eval", "--case", "nope"],
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "no case nope; cases: build-job" in unknown.stderr
    bad = subprocess.run([sys.executable, "-m", "license_demo.cli", "eval", "--investigator", "gpt"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown investigator 'gpt'" in bad.stderr and "cmd:<command>" in bad.stderr


def test_a_running_stack_needs_its_urls_and_token_and_skips_process_steps(tmp_path):
    from license_demo.evaluation.lab import Lab, LabError, RunningStack
    with pytest.raises(LabError, match="license-demo stack --data-dir"):
        RunningStack.recorded(str(tmp_path), "token")
    (tmp_path / "urls.json").write_text(json.dumps({"server": "http://127.0.0.1:1", "prometheus": "http://127.0.0.1:2",
                                                    "alertmanager": "http://127.0.0.1:3"}))
    with pytest.raises(LabError, match="ADMIN_TOKEN"):
        RunningStack.recorded(str(tmp_path), None)
    lab = Lab(RunningStack.recorded(str(tmp_path), "token"))
    assert lab.server_url == "http://127.0.0.1:1" and not lab.controls_processes
    assert lab.cannot_run([{"reset": {}}, {"borrow": {}}]) is None
    assert "stop_server needs a stack the evaluation starts itself" in lab.cannot_run([{"reset": {}}, {"stop_server": {}}])
