"""Run cases on the lab: set each situation up, ask every investigator, score, tabulate."""
from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from license_demo.evaluation import lab as lab_mod
from license_demo.evaluation.answer_schema import STEPS
from license_demo.evaluation.cases import Case
from license_demo.evaluation.investigators import Endpoint
from license_demo.evaluation.scoring import StepScore, score
from license_demo.stack.processes import free_port, spawn

# Reset, let the last case's alerts resolve, reset again so every window starts after them.
PREPARE = [{"reset": {}}, {"wait_quiet": {}}, {"reset": {}}]
STEP_TITLES = {"detection": "detect", "localisation": "locate", "root_cause": "cause", "mitigation": "mitigate"}


@dataclass
class Outcome:
    """One investigator on one case."""

    investigator: str
    seconds: float
    steps: dict
    answer: dict | None = None
    error: str | None = None
    # For a case with a `fix`: whether the proposal, applied and the load rerun, kept the alert quiet.
    fix: StepScore | None = None

    def to_dict(self) -> dict:
        """As JSON-ready data."""
        return {"investigator": self.investigator, "seconds": self.seconds,
                "steps": {k: v.to_dict() for k, v in self.steps.items()}, "answer": self.answer, "error": self.error,
                "fix": self.fix.to_dict() if self.fix else None}


@dataclass
class CaseRun:
    """One case: its setup time and every investigator's outcome (or the setup's error)."""

    case: Case
    setup_seconds: float = 0.0
    setup_error: str | None = None
    skipped: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    def to_dict(self) -> dict:
        """As JSON-ready data."""
        return {"case": self.case.name, "description": self.case.description, "question": self.case.question,
                "expect": self.case.expect, "setup_seconds": self.setup_seconds, "setup_error": self.setup_error, "skipped": self.skipped,
                "outcomes": [o.to_dict() for o in self.outcomes]}


class MCPProcess:
    """`license-demo mcp --http` (read-only) over the lab's stack as it is for one case."""

    def __init__(self, lab: lab_mod.Lab, log_dir: Path):
        """Start it on a free loopback port with a fresh token; wait until it answers."""
        port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.managed = spawn("license-demo-mcp", [
            sys.executable, "-m", "license_demo.cli", "mcp", "--http", "--port", str(port), f"--token={self.token}",
            "--server", lab.server_url, "--prometheus", lab.prometheus_url, "--alertmanager", lab.alertmanager_url,
            "--loki", "", "--audit-log", str(log_dir / "mcp-audit.jsonl")], log_dir / f"mcp-{port}.log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                # Up when it refuses a request without the token.
                if requests.get(self.url, timeout=2).status_code == 401:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        self.stop()
        raise lab_mod.LabError(f"license-demo mcp did not start: {self.managed.log_tail(10)}")

    def stop(self) -> None:
        """End the server process."""
        self.managed.stop(timeout=15)


def run_case(lab: lab_mod.Lab, case: Case, investigators: list, log_dir: Path, progress=print,
             with_fix: bool = True) -> CaseRun:
    """Set the case up, ask each investigator, score them (and with `with_fix`, rerun the load with
    their fix where the case has one), undo the setup."""
    result = CaseRun(case)
    result.skipped = lab.cannot_run(case.setup + case.teardown)
    if result.skipped:
        progress(f"{case.name}: {result.skipped}")
        return result
    started = time.monotonic()
    mcp = None
    try:
        progress(f"{case.name}: setting up")
        lab.run(PREPARE + case.setup)
        result.setup_seconds = round(time.monotonic() - started, 1)
        if any(i.needs_mcp for i in investigators):
            mcp = MCPProcess(lab, log_dir)
        endpoint = Endpoint(lab.server_url, lab.prometheus_url, lab.alertmanager_url, lab.admin_token,
                            mcp.url if mcp else None, mcp.token if mcp else None)
        for inv in investigators:
            progress(f"{case.name}: asking {inv.name}: {case.question!r}")
            asked = time.monotonic()
            try:
                answer, error = inv.answer(case.question, endpoint), None
            except Exception as exc:  # an investigator that crashes scores nothing, the run goes on
                answer, error = None, f"{type(exc).__name__}: {exc}"
            seconds = round(time.monotonic() - asked, 1)
            steps = score(case.expect, answer) if answer else {
                s: _unanswered(error) for s in STEPS}
            result.outcomes.append(Outcome(inv.name, seconds, steps, answer, error))
            progress(f"{case.name}: {inv.name}: " + " ".join(
                f"{STEP_TITLES[s]} {'✓' if v.passed else '✗'}" for s, v in steps.items()) + f" ({seconds:.1f}s)")
        if case.fix and with_fix:
            if mcp:
                mcp.stop()
                mcp = None
            check_fix(lab, case, result.outcomes, progress)
    except Exception as exc:  # the lab could not make the situation: reported, the next case runs
        result.setup_error = f"{type(exc).__name__}: {exc}"
        progress(f"{case.name}: setup failed: {result.setup_error}")
    finally:
        if mcp:
            mcp.stop()
        try:
            lab.run(case.teardown)
        finally:
            lab.finish()
    return result


def _unanswered(error: str | None) -> StepScore:
    """A step that could not be scored: the investigator gave no answer."""
    return StepScore(False, f"no answer: {error}")


def check_fix(lab: lab_mod.Lab, case: Case, outcomes: list[Outcome], progress=print) -> None:
    """Apply each distinct proposal of `fix.action` the investigators made, rerun the load, and score
    whether `fix.quiet`'s alert stayed quiet; the configuration is reset before each and after the last."""
    fix = case.fix
    proposals: dict[str, list[Outcome]] = {}
    for o in outcomes:
        params = next((a["parameters"] for a in (o.answer or {}).get("actions", []) if a["action"] == fix["action"]),
                      None)
        if params is None:
            o.fix = StepScore(False, f"proposed no {fix['action']}")
        else:
            proposals.setdefault(json.dumps(params, sort_keys=True), []).append(o)
    for key, group in proposals.items():
        params = json.loads(key)
        progress(f"{case.name}: applying {fix['action']} {params} and rerunning the load")
        try:
            lab.run(fix["before"])
            done = lab_mod.apply_fix(lab, fix["action"], params, fix.get("tool"))
            started = time.time()
            lab.run(fix["rerun"])
            quiet = fix["quiet"]
            fired = lab_mod.fired_since(lab, quiet["alert"], quiet.get("labels") or {}, started)
            verdict = StepScore(not fired, f"{done}; {quiet['alert']} {'fired' if fired else 'stayed quiet'} "
                                           f"during the {time.time() - started:.0f} s rerun")
        except Exception as exc:  # the lab could not rerun: the fix is not shown to work
            verdict = StepScore(False, f"rerun failed: {type(exc).__name__}: {exc}")
        finally:
            lab.run([{"reset": {}}])
        progress(f"{case.name}: fix {params}: {'✓' if verdict.passed else '✗'} {verdict.why}")
        for o in group:
            o.fix = verdict


def totals(runs: list[CaseRun]) -> dict:
    """Per investigator: steps passed of steps scored, cases with every step passed, seconds per answer."""
    out: dict[str, dict] = {}
    for run in runs:
        for o in run.outcomes:
            t = out.setdefault(o.investigator, {"steps_passed": 0, "steps": 0, "cases_passed": 0, "cases": 0,
                                                "fixes_held": 0, "fixes": 0, "seconds": 0.0})
            if o.fix is not None:
                t["fixes"] += 1
                t["fixes_held"] += o.fix.passed
            passed = sum(v.passed for v in o.steps.values())
            t["steps_passed"] += passed
            t["steps"] += len(o.steps)
            t["cases_passed"] += passed == len(o.steps)
            t["cases"] += 1
            t["seconds"] = round(t["seconds"] + o.seconds, 1)
    return out


def table(runs: list[CaseRun]) -> str:
    """The results as a Markdown table: case × investigator, a ✓ or ✗ per step (and for the fix where the
    case reruns the load with it; – where it does not), seconds to answer."""
    head = "| case | investigator | " + " | ".join(STEP_TITLES[s] for s in STEPS) + " | fix holds | time |"
    lines = [head, "|" + "---|" * (len(STEPS) + 4)]
    for run in runs:
        if run.skipped:
            lines.append(f"| {run.case.name} | ({run.skipped.split(':')[0]}) | " + " | ".join("–" for _ in STEPS)
                         + f" | – | {run.skipped.split(': ', 1)[-1]} |")
        if run.setup_error:
            lines.append(f"| {run.case.name} | (setup failed) | " + " | ".join("–" for _ in STEPS)
                         + f" | – | {run.setup_error[:80]} |")
        for o in run.outcomes:
            marks = " | ".join("✓" if o.steps[s].passed else "✗" for s in STEPS)
            fix = "–" if o.fix is None else "✓" if o.fix.passed else "✗"
            lines.append(f"| {run.case.name} | {o.investigator} | {marks} | {fix} | {o.seconds:.1f} s |")
    lines.append("")
    for name, t in totals(runs).items():
        lines.append(f"{name}: {t['steps_passed']}/{t['steps']} steps, {t['cases_passed']}/{t['cases']} cases "
                     f"fully right, {t['fixes_held']}/{t['fixes']} fixes held on the rerun, "
                     f"{t['seconds']:.0f} s answering")
    return "\n".join(lines)


def report(runs: list[CaseRun], investigators: list, seconds: float) -> dict:
    """Everything as JSON-ready data: per case, per investigator, per step, with the reasons of each ✗."""
    return {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seconds": round(seconds, 1),
            "investigators": [i.name for i in investigators], "totals": totals(runs),
            "cases": [r.to_dict() for r in runs]}
