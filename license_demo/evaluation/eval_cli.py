"""`license-demo eval`: start a native stack, run the cases, print the table, write the JSON."""
from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from license_demo.evaluation import cases as cases_mod
from license_demo.stack_urls import recorded_admin_token

DEFAULT_INVESTIGATORS = ("built-in", "mcp")


def _err(line: str) -> None:
    """Progress goes to stderr; the table to stdout."""
    print(line, file=sys.stderr, flush=True)


def run(args) -> int:
    """Run the chosen cases for the chosen investigators; exit 0 only when every step of every case passed."""
    # Imported here: the MCP SDK is not needed to parse the other subcommands.
    from license_demo.evaluation import investigators, runner
    from license_demo.evaluation.lab import Lab, LabError, RunningStack
    try:
        chosen = cases_mod.load_all(args.cases, args.case or None, quick=args.quick)
        scored = [investigators.parse(s) for s in (args.investigator or DEFAULT_INVESTIGATORS)]
    except (cases_mod.CaseError, ValueError) as exc:
        _err(f"error: {exc}")
        return 2
    if not chosen:
        _err("error: no case selected (see --list)")
        return 2
    if args.stack_dir:
        try:
            stack = RunningStack.recorded(args.stack_dir, args.admin_token or recorded_admin_token(args.stack_dir))
        except LabError as exc:
            _err(f"error: {exc}")
            return 2
        data_dir = Path(tempfile.mkdtemp(prefix="license-demo-eval-"))
        _err(f"using the running stack of {args.stack_dir}: {stack.server_url} (cases that stop or move its "
             "server are skipped)")
        stop = lambda: None  # noqa: E731 (not ours to stop)
    else:
        from license_demo.stack.stack import Stack, StackError, StackSettings
        data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="license-demo-eval-"))
        settings = StackSettings(data_dir=data_dir, admin_token=secrets.token_hex(16), profile="demo",
                                 server_port=args.server_port, prometheus_port=args.prometheus_port,
                                 alertmanager_port=args.alertmanager_port)
        _err(f"starting a native stack in {data_dir} (demo profile, free loopback ports unless given)")
        stack = Stack(settings, progress=lambda line: _err(f"  {line}"))
        try:
            stack.start()
        except StackError as exc:
            _err(f"error: {exc}")
            return 1
        stop = stack.stop
    started, runs = time.monotonic(), []
    try:
        lab = Lab(stack, progress=_err)
        for case in chosen:
            runs.append(runner.run_case(lab, case, scored, data_dir, progress=_err, with_fix=not args.quick))
    except KeyboardInterrupt:
        _err("interrupted: the table holds the cases finished so far")
    finally:
        stop()
    result = runner.report(runs, scored, time.monotonic() - started)
    Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(runner.table(runs))
    print(f"\n{len(runs)} cases in {result['seconds']:.0f} s; JSON written to {args.json}")
    perfect = all(not r.setup_error for r in runs) and all(
        t["steps_passed"] == t["steps"] and t["fixes_held"] == t["fixes"] for t in result["totals"].values())
    return 0 if perfect else 1


def list_cases(args) -> int:
    """Print the cases: name, quick or not, question."""
    for case in cases_mod.load_all(args.cases):
        print(f"{case.name:<28} {'quick' if case.quick else '     '}  {case.question}")
    return 0


def register(subparsers) -> None:
    """Add `eval` to the license-demo CLI."""
    p = subparsers.add_parser(
        "eval", help="score investigators (built-in, through MCP, any command) on situations set up for real",
        description="Start a native stack on free loopback ports, set each case's situation up for real (stress-test "
                    "runs, faults, deployments, a stopped or moved server), ask each investigator the case's "
                    "question, and score its answer on four steps: detection, localisation, root cause, "
                    "mitigation; where a case says so, the proposed fix is applied and the load rerun. Prints a "
                    "table (case x step, time to answer) and writes JSON. Exit status 0 only when every step of "
                    "every case passed and every fix held. See docs/agents.md.")
    p.add_argument("--cases", type=Path, default=cases_mod.CASES_DIR,
                   help="folder of case files, one YAML file per case (default: the built-in cases)")
    p.add_argument("--case", action="append", metavar="NAME", help="run only this case (repeatable)")
    p.add_argument("--quick", action="store_true",
                   help="only the reduced subset (cases marked quick: true), without rerunning the load with the fix")
    p.add_argument("--investigator", action="append", metavar="SPEC",
                   help="built-in, mcp, weak:ignores-tool, weak:always-raise-commit, or cmd:<command> "
                        "(repeatable; default: built-in and mcp)")
    p.add_argument("--json", default="eval-results.json", help="where to write the results (default eval-results.json)")
    p.add_argument("--stack-dir", help="use the stack `license-demo stack --data-dir DIR` runs (its urls.json) "
                                       "instead of starting one; it must run the demo profile; cases that stop or "
                                       "move the server are skipped")
    p.add_argument("--admin-token", default=os.environ.get("ADMIN_TOKEN"),
                   help="with --stack-dir: the stack's admin token (default $ADMIN_TOKEN, else the one that stack keeps "
                        "in config/secrets/admin-token)")
    p.add_argument("--data-dir", help="folder for the stack's data and logs (default: a new temporary folder)")
    p.add_argument("--server-port", type=int, help="license server port (default: a free one)")
    p.add_argument("--prometheus-port", type=int, help="Prometheus port (default: a free one)")
    p.add_argument("--alertmanager-port", type=int, help="Alertmanager port (default: a free one)")
    p.add_argument("--list", action="store_const", const=list_cases, dest="func", help="list the cases and exit")
    p.set_defaults(func=run)
