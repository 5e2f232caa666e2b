"""Score one answer against a case's expectations, step by step: detection, localisation, root cause, mitigation.

An expected value is matched as written: a value (equal), null (the answer must say none), a list
(any of them), or {"not": value} (anything else, none included). Mitigation parameters are
{"action id": {"parameter": value | {"min": a, "max": b}}}, checked on that action wherever it is
in the answer's proposals (an action the case constrains must be proposed).
"""
from __future__ import annotations

from dataclasses import dataclass

from license_demo.evaluation.answer_schema import STEPS


@dataclass
class StepScore:
    """One step: passed or not, and why not."""

    passed: bool
    why: str = ""

    def to_dict(self) -> dict:
        """As JSON-ready data."""
        return {"passed": self.passed, "why": self.why}


def matches(expected, got) -> bool:
    """Whether `got` meets `expected` (value, null, list of values, or {"not": value})."""
    if isinstance(expected, dict) and set(expected) == {"not"}:
        return got != expected["not"]
    if isinstance(expected, list):
        return got in expected
    if isinstance(expected, str) and isinstance(got, str):
        return expected.lower() == got.lower()
    return expected == got


def _field(expected, got, name: str) -> str:
    """'' when it matches, else the mismatch in words."""
    return "" if matches(expected, got) else f"{name}: expected {expected!r}, got {got!r}"


def _parameter(rule, value, name: str) -> str:
    """'' when a parameter meets its rule (a value or {min, max}), else the mismatch."""
    if isinstance(rule, dict) and set(rule) <= {"min", "max"}:
        ok = isinstance(value, (int, float)) and rule.get("min", value) <= value <= rule.get("max", value)
        return "" if ok else f"{name}: expected within {rule}, got {value!r}"
    return _field(rule, value, name)


def score(expect: dict, answer: dict) -> dict[str, StepScore]:
    """Each of the four steps of `expect` (a case's) against `answer` (normalised)."""
    out: dict[str, StepScore] = {}
    det = _field(expect["detection"].get("alert"), answer["detection"]["alert"], "alert")
    out["detection"] = StepScore(not det, det)
    wrong = [_field(v, answer["localisation"].get(k), k) for k, v in expect["localisation"].items()]
    wrong = [w for w in wrong if w]
    out["localisation"] = StepScore(not wrong, "; ".join(wrong))
    cause = _field(expect["root_cause"], answer["root_cause"], "root cause")
    out["root_cause"] = StepScore(not cause, cause)
    out["mitigation"] = _mitigation(expect["mitigation"], answer)
    assert set(out) == set(STEPS)
    return out


def _mitigation(expect: dict, answer: dict) -> StepScore:
    """The first action, and the parameters of each action the case constrains."""
    first = answer["mitigation"]["action"]
    problems = [p for p in [_field(expect.get("action"), first, "action")] if p]
    proposed = {a["action"]: a["parameters"] for a in answer["actions"]}
    proposed.setdefault(first, answer["mitigation"]["parameters"])
    for action_id, rules in (expect.get("parameters") or {}).items():
        if action_id not in proposed:
            problems.append(f"{action_id}: not proposed")
            continue
        problems += [p for k, rule in rules.items()
                     if (p := _parameter(rule, proposed[action_id].get(k), f"{action_id}.{k}"))]
    return StepScore(not problems, "; ".join(problems))
