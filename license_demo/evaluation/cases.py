"""Evaluation cases: one YAML file each under `cases/` (or a folder given with --cases).

A case file holds `name`, `description`, `quick` (part of the reduced subset the tests run),
`setup` (steps, see `lab.STEPS`), `question`, `teardown` (optional steps) and `expect`: the
answer per step, `detection`, `localisation`, `root_cause`, `mitigation` (see `scoring`).
An optional `fix` applies the proposed action and reruns the load (see `runner.check_fix`).
Adding a case needs no code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from license_demo.evaluation.answer_schema import STEPS

CASES_DIR = Path(__file__).parent / "cases"


class CaseError(ValueError):
    """A case file that cannot be used; the message names the file and the field."""


@dataclass
class Case:
    """One situation, its question and its expected answer."""

    name: str
    description: str
    question: str
    setup: list[dict]
    expect: dict
    teardown: list[dict] = field(default_factory=list)
    quick: bool = False
    # Optional: apply each distinct proposal of `fix.action`, rerun the load, check the alert stays quiet.
    fix: dict | None = None
    path: Path | None = None


def _steps(raw, where: str) -> list[dict]:
    """A list of one-key mappings {step: arguments}."""
    from license_demo.evaluation.lab import STEPS as KNOWN
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CaseError(f"{where} must be a list of steps like '- reset: {{}}'")
    steps = []
    for i, step in enumerate(raw):
        if isinstance(step, str):
            step = {step: {}}
        if not isinstance(step, dict) or len(step) != 1:
            raise CaseError(f"{where}[{i}] must be one step like '- wait_alert: {{alert: HighOverageRate}}'")
        (kind, args), = step.items()
        if kind not in KNOWN:
            raise CaseError(f"{where}[{i}]: unknown step {kind!r}; steps: {', '.join(KNOWN)}")
        if args is not None and not isinstance(args, dict):
            raise CaseError(f"{where}[{i}] ({kind}): arguments must be a mapping")
        steps.append({kind: args or {}})
    return steps


def load(path: Path) -> Case:
    """One case file; CaseError says what is wrong in it."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CaseError(f"{path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise CaseError(f"{path}: a case is a mapping with name, question, setup and expect")
    for key in ("name", "question", "expect"):
        if not raw.get(key):
            raise CaseError(f"{path}: missing {key}")
    expect = raw["expect"]
    missing = [s for s in STEPS if s not in expect]
    if missing:
        raise CaseError(f"{path}: expect needs every step ({', '.join(STEPS)}); missing {', '.join(missing)}")
    if not isinstance(expect["detection"], dict) or not isinstance(expect["localisation"], dict) \
            or not isinstance(expect["mitigation"], dict):
        raise CaseError(f"{path}: expect.detection, .localisation and .mitigation are mappings")
    return Case(name=str(raw["name"]), description=str(raw.get("description", "")).strip(),
                question=str(raw["question"]), setup=_steps(raw.get("setup"), f"{path}: setup"),
                expect=expect, teardown=_steps(raw.get("teardown"), f"{path}: teardown"),
                quick=bool(raw.get("quick")), fix=_fix(raw.get("fix"), path), path=Path(path))


def _fix(raw, path) -> dict | None:
    """The `fix` block: action, tool (or user), steps before the rerun, the rerun, the alert that must stay quiet."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw.get("action") or not isinstance(raw.get("quiet"), dict):
        raise CaseError(f"{path}: fix needs action (e.g. raise-commit), quiet ({{alert, labels}}) and rerun steps")
    return {**raw, "before": _steps(raw.get("before"), f"{path}: fix.before"),
            "rerun": _steps(raw.get("rerun"), f"{path}: fix.rerun")}


def load_all(folder: Path | None = None, names: list[str] | None = None, quick: bool = False) -> list[Case]:
    """Every case of `folder` (sorted by file name), or the named ones, or the quick subset."""
    files = sorted(Path(folder or CASES_DIR).glob("*.yaml"))
    cases = [load(f) for f in files]
    if names:
        unknown = [n for n in names if n not in {c.name for c in cases}]
        if unknown:
            raise CaseError(f"no case {', '.join(unknown)}; cases: {', '.join(c.name for c in cases)}")
        cases = [c for c in cases if c.name in names]
    if quick:
        cases = [c for c in cases if c.quick]
    return cases
