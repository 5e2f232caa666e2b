"""The command line of the stress test: flags, numbered menus for what they leave open, the run."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from stress_test import reports, run_summary, targets
from stress_test.criteria import exit_reasons
from stress_test.menus import NoAnswer, Prompter
from stress_test.population import BUILD_TEAM, TEAMS
from stress_test.profiles import CAPACITY, MODES, PROFILES, CapacityLimits, resolve_profile
from stress_test.settings import (DEFAULT_MASTER_PORT, DEFAULT_MAX_FAIL_RATIO, DEFAULT_MAX_SECONDS,
                                  DEFAULT_SEED, RunSettings)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOOL = "Vector - DaVinci Configurator SE"
EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
targets:  local = http://localhost:8000 (or the URL a running `license-demo stack` recorded
          in .stack/urls.json); fly = $FLY_APP_URL, else https://<app>.fly.dev from
          the app name in the repository's fly.toml; or any http(s) URL.
profiles: light 5x20, medium 10x50, heavy 20x100 (workers x borrow operations each);
          custom takes --workers and --ops. Each worker stops after its operations and the
          run ends by itself when all are done (or at --max-seconds).
modes:    full-cycle   borrow, hold a short random time, return
          borrow-only  borrow and keep the seat (a runaway build script)
          mixed-teams  engineers of every team on the tools their team uses, full cycles
          spike        full cycles while users ramp up, hold at the peak, ramp down
teams:    {teams}
          The job's engineers all come from one team, {build_team} (the story's build
          team) unless --team says otherwise; mixed-teams draws from every team.

A refused borrow (409, no seat left) is an expected outcome, not a failure; transport
errors and 5xx are failures. A borrow that gets no answer is sent again with the same
Idempotency-Key (3 sends at most) and counts as a retry, not a failure. Ctrl-C stops cleanly: seats held by cycle modes are returned
and the summary is printed; a second Ctrl-C exits at once.

reports:  each run writes Locust's HTML report, its CSV statistics (with history) and
          summary.json to a new folder <time>_<target>_<profile> under --report-dir
          (default $STRESS_REPORT_DIR, else stress-reports/ in the repository);
          `python -m stress_test compare A B` compares two of them.
capacity: --profile capacity ramps users in stages with no think time until the borrows'
          p99 passes --capacity-p99-ms or failures pass --capacity-fail-ratio, returns
          every seat and prints the borrows/s the server sustained within the bound.
several processes: --processes N forks N Locust workers on this machine; on several
          machines start `--master --expect-workers N --master-bind-host 0.0.0.0` with the
          run's flags on one and `--worker --master-host H` on each of the others.

exit codes: 0 done; 1 failed requests above --max-fail-ratio, or latency above
--max-p95-ms / --max-p99-ms (each reason named in the summary); 2 bad input, unreachable
target or workers that never connected; 130 stopped by Ctrl-C.

examples:
  ./run_stress_test.sh
  ./run_stress_test.sh --target fly --profile heavy --mode full-cycle \\
      --tool "Vector - DaVinci Configurator SE" --yes
  python -m stress_test --target http://127.0.0.1:8000 --profile custom --workers 5 --ops 10 \\
      --mode borrow-only --tool all --yes --summary run.json
  python -m stress_test --target local --profile capacity --processes 2 --yes
  python -m stress_test compare stress-reports/<run A> stress-reports/<run B>
"""


def ratio(text: str) -> float:
    """A fraction between 0 and 1 for --max-fail-ratio."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("give a fraction between 0 and 1, e.g. 0.01 for 1%")
    return value


def positive(kind):
    """An argparse type accepting numbers above zero."""
    def check(text: str):
        """Parse `text` and refuse zero and negatives."""
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be above zero")
        return value
    return check


def build_parser() -> argparse.ArgumentParser:
    """The flags; every menu has one."""
    parser = argparse.ArgumentParser(
        prog="run_stress_test.sh",
        description="Simulate engineering teams borrowing seats from the license server "
                    "(Locust). Without flags it asks with numbered menus; every menu has a "
                    "flag, and --yes takes the defaults for whatever is left.",
        epilog=EPILOG.format(teams=", ".join(TEAMS), build_team=BUILD_TEAM),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", metavar="local|fly|URL",
                        help="server to load (menu default: local)")
    parser.add_argument("--profile", choices=[*PROFILES, "custom", CAPACITY],
                        help="amount of load (menu default: heavy); capacity: find the "
                             "server's limit (no menu entry, see below)")
    parser.add_argument("--workers", type=positive(int), metavar="N",
                        help="concurrent workers (custom profile, or overrides the profile's)")
    parser.add_argument("--ops", type=positive(int), metavar="N",
                        help="borrow operations per worker (custom profile, or overrides)")
    parser.add_argument("--mode", choices=list(MODES), help="behaviour (menu default: full-cycle)")
    parser.add_argument("--tool", metavar="NAME|all",
                        help=f"tool from the server's /api/tools, or all (default: {DEFAULT_TOOL})")
    parser.add_argument("--user-prefix", metavar="PREFIX",
                        help="name the workers PREFIX-01, PREFIX-02, ... instead of roster names")
    parser.add_argument("--team", choices=[*TEAMS, "all"],
                        help=f"team running the job: every engineer is drawn from it, or all "
                             f"for the whole roster (default: {BUILD_TEAM}, the story's build "
                             f"team; mixed-teams always uses all)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed of the population and of every random choice (default {DEFAULT_SEED})")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="no questions: take the defaults for anything not given as a flag")
    parser.add_argument("--summary", type=Path, metavar="FILE",
                        help="write the summary as JSON to FILE")
    parser.add_argument("--max-seconds", type=positive(float), metavar="S",
                        help=f"stop after S seconds even if operations remain (default "
                             f"{DEFAULT_MAX_SECONDS:.0f}; none with --web)")
    parser.add_argument("--max-fail-ratio", type=ratio, default=DEFAULT_MAX_FAIL_RATIO,
                        metavar="R", help="exit 1 when failed requests / requests exceed R "
                                          f"(default {DEFAULT_MAX_FAIL_RATIO})")
    parser.add_argument("--interval", type=positive(float), default=1.0, metavar="S",
                        help="seconds between live lines (default 1)")
    parser.add_argument("--web", action="store_true",
                        help="serve the Locust web UI on 127.0.0.1 instead of a headless run")
    parser.add_argument("--web-port", type=int, default=8089, metavar="PORT",
                        help="port of the web UI (default 8089)")
    report = parser.add_argument_group("reports and limits")
    report.add_argument("--report-dir", type=Path, metavar="DIR",
                        help="folder under which each run writes its reports (default "
                             f"${reports.ENV_DIR}, else {reports.DEFAULT_FOLDER}/ in the repository)")
    report.add_argument("--no-report", action="store_true",
                        help="write no Locust report (the --summary file is still written)")
    report.add_argument("--max-p95-ms", type=positive(float), metavar="MS",
                        help="exit 1 when the p95 of all requests is above MS")
    report.add_argument("--max-p99-ms", type=positive(float), metavar="MS",
                        help="exit 1 when the p99 of all requests is above MS")
    capacity = parser.add_argument_group("capacity profile (--profile capacity)")
    defaults = CapacityLimits()
    capacity.add_argument("--capacity-p99-ms", type=positive(float), default=defaults.p99_ms,
                          metavar="MS", help="stop after the first stage whose borrows' p99 "
                                             f"is above MS (default {defaults.p99_ms:g})")
    capacity.add_argument("--capacity-fail-ratio", type=ratio, default=defaults.fail_ratio,
                          metavar="R", help="... or whose failed requests are above R "
                                            f"(default {defaults.fail_ratio})")
    capacity.add_argument("--capacity-start", type=positive(int), default=defaults.start_users,
                          metavar="N", help=f"users of the first stage (default {defaults.start_users})")
    capacity.add_argument("--capacity-step", type=positive(int), default=defaults.step_users,
                          metavar="N", help=f"users added per stage (default {defaults.step_users})")
    capacity.add_argument("--capacity-stage-seconds", type=positive(float),
                          default=defaults.stage_seconds, metavar="S",
                          help=f"seconds per stage (default {defaults.stage_seconds:g})")
    capacity.add_argument("--capacity-max-users", type=positive(int), default=defaults.max_users,
                          metavar="N", help=f"stop after the stage with N users (default {defaults.max_users})")
    spread = parser.add_argument_group("several processes (Locust's distributed mode)")
    spread.add_argument("--processes", type=positive(int), metavar="N",
                        help="fork N Locust workers on this machine; this process is their master")
    spread.add_argument("--master", action="store_true",
                        help="be the master of workers started elsewhere with --worker")
    spread.add_argument("--expect-workers", type=positive(int), default=1, metavar="N",
                        help="with --master: wait for N workers before starting (default 1)")
    spread.add_argument("--master-bind-host", default="127.0.0.1", metavar="HOST",
                        help="with --master: interface to listen on (default 127.0.0.1; "
                             "0.0.0.0 for workers on other machines)")
    spread.add_argument("--master-port", type=int, default=DEFAULT_MASTER_PORT, metavar="PORT",
                        help=f"the master's port (default {DEFAULT_MASTER_PORT})")
    spread.add_argument("--worker", action="store_true",
                        help="be a worker: take the run from the master at --master-host")
    spread.add_argument("--master-host", metavar="HOST",
                        help="with --worker: the master's address")
    return parser


def choose_target(args, ask: Prompter | None) -> str:
    """The target URL from --target or the menu."""
    if args.target:
        return targets.resolve(args.target, REPO_ROOT)
    local = targets.local_url(REPO_ROOT)
    if ask is None:
        return local
    fly = targets.fly_url(REPO_ROOT, os.environ)
    options = [("local", f"local              {local}"),
               ("fly", f"Fly.io production  {fly or '(not configured: set FLY_APP_URL or add fly.toml)'}"),
               ("custom", "custom URL")]
    while True:
        choice = ask.choose("target", options, "local")
        if choice == "custom":
            def check(text):
                """The typed URL, cleaned, or ValueError so the menu asks again."""
                try:
                    return targets.validate_url(text)
                except targets.TargetError as exc:
                    raise ValueError(str(exc)) from exc
            return ask.ask_text("Server URL", check)
        try:
            return targets.resolve(choice, REPO_ROOT)
        except targets.TargetError as exc:
            ask.out.write(f"  {exc}\n")


def choose_profile(args, ask: Prompter | None):
    """The profile from --profile/--workers/--ops or the menu."""
    name = args.profile
    if name is None and (args.workers or args.ops):
        name = "custom"
    if name is None:
        name = "heavy" if ask is None else ask.choose(
            "load profile", [(key, f"{key:<7} {p.description}") for key, p in PROFILES.items()]
            + [("custom", "custom  choose workers and operations")], "heavy")
    workers, ops = args.workers, args.ops
    if name == "custom" and ask is not None:
        workers = workers or ask.ask_int("Workers", 10, maximum=500)
        ops = ops or ask.ask_int("Operations per worker", 20, maximum=100_000)
    return resolve_profile(name, workers, ops)


def choose_mode(args, ask: Prompter | None) -> str:
    """The mode from --mode or the menu."""
    if args.mode or ask is None:
        return args.mode or "full-cycle"
    return ask.choose("mode", [(key, f"{key:<12} {text}") for key, text in MODES.items()],
                      "full-cycle")


def choose_tools(args, ask: Prompter | None, catalog: list[dict]) -> list[str]:
    """The tools from --tool or the menu of the server's live catalog."""
    names = [tool["name"] for tool in catalog]
    default = DEFAULT_TOOL if DEFAULT_TOOL in names else "all"
    choice = args.tool
    if choice is None and ask is not None:
        options = [(t["name"], f"{t['name']}  ({t['commit']} commit + {t['max_overage']} overage, "
                               f"{t['in_use']} in use, ${t['overage_cost']:,.0f} per overage)")
                   for t in catalog] + [("all", "all tools")]
        choice = ask.choose("tool", options, default)
    choice = choice or default
    if choice == "all":
        return names
    if choice not in names:
        raise targets.TargetError(f"the server has no tool {choice!r}; choose one of: "
                                  + "; ".join(names) + "; or all")
    return [choice]


def choose_team(args, ask: Prompter | None, mode: str) -> str | None:
    """The team whose engineers run the job (None: the whole roster), from --team or the menu."""
    if mode == "mixed-teams":
        return None if args.team in (None, "all") else args.team
    choice = args.team
    if choice is None and ask is not None:
        options = [(name, f"{name:<17} {', '.join(TEAMS[name])}") for name in TEAMS]
        choice = ask.choose("team running the job", options + [("all", "all teams")], BUILD_TEAM)
    choice = choice or BUILD_TEAM
    return None if choice == "all" else choice


def plan_text(settings: RunSettings) -> str:
    """What is about to run, in two lines."""
    profile = settings.profile
    limits = settings.capacity
    load = (f"users started from the web UI, {profile.ops} operations each" if settings.web else
            f"{limits.start_users} users +{limits.step_users} every {limits.stage_seconds:g} s up to "
            f"{limits.max_users}, until p99 > {limits.p99_ms:g} ms or failures > {limits.fail_ratio:.0%}"
            if limits else
            f"{profile.workers} workers x {profile.ops} operations = {settings.planned_operations} borrows")
    if settings.workers_expected:
        load += (f", {settings.processes} worker processes" if settings.processes else
                 f", master of {settings.workers_expected} worker(s) on "
                 f"{settings.master_bind_host}:{settings.master_port}")
    return (f"\nStress test: {profile.name} ({load}), {settings.mode}, {settings.tool_label}\n"
            f"Target: {settings.target} (healthy), seed {settings.seed}"
            + (f", team {settings.team}" if settings.team else "")
            + (f", users {settings.user_prefix}-NN" if settings.user_prefix else "")
            + f". Ctrl-C stops{' and returns held seats' if settings.returns_seats else ''}.")


def capacity_limits(args) -> CapacityLimits:
    """The capacity profile's stages and bounds from its flags."""
    return CapacityLimits(p99_ms=args.capacity_p99_ms, fail_ratio=args.capacity_fail_ratio,
                          start_users=args.capacity_start, step_users=args.capacity_step,
                          stage_seconds=args.capacity_stage_seconds,
                          max_users=args.capacity_max_users)


def distribution(args) -> dict:
    """The settings of a distributed run (--processes or --master); ValueError for misuse."""
    if args.processes and args.master:
        raise ValueError("--processes already makes this process the master; leave out --master")
    if (args.processes or args.master) and args.web:
        raise ValueError("--web runs in one process; leave out --processes and --master")
    if args.processes:
        from stress_test.distributed import free_port
        return {"workers_expected": args.processes, "processes": args.processes,
                "master_bind_host": "127.0.0.1", "master_port": free_port()}
    if args.master:
        return {"workers_expected": args.expect_workers, "master_bind_host": args.master_bind_host,
                "master_port": args.master_port}
    return {}


def settings_from(args, stdin, out) -> tuple[RunSettings | None, dict[str, float]]:
    """Make every choice (flags first, menus for the rest), with the tools' overage prices.

    The settings are None when the presenter declines to start.
    """
    ask = None if args.yes else Prompter(stdin, out)
    url = choose_target(args, ask)
    targets.check_health(url)
    catalog = targets.fetch_tools(url)
    profile = choose_profile(args, ask)
    if profile.name == CAPACITY and args.mode not in (None, "full-cycle"):
        raise ValueError("the capacity profile runs full cycles back to back; leave out --mode")
    mode = "full-cycle" if profile.name == CAPACITY else choose_mode(args, ask)
    tools = choose_tools(args, ask, catalog)
    team = choose_team(args, ask, mode)
    settings = RunSettings(
        target=url, tools=tools, mode=mode, profile=profile,
        tool_label=tools[0] if len(tools) == 1 else "all tools", seed=args.seed,
        team=team, user_prefix=args.user_prefix,
        max_seconds=args.max_seconds or (float("inf") if args.web else DEFAULT_MAX_SECONDS),
        max_fail_ratio=args.max_fail_ratio, summary_path=args.summary, interval=args.interval,
        web=args.web, web_port=args.web_port,
        report_dir=None if args.no_report else (args.report_dir or reports.default_dir(REPO_ROOT, os.environ)),
        max_p95_ms=args.max_p95_ms, max_p99_ms=args.max_p99_ms,
        capacity=capacity_limits(args) if profile.name == CAPACITY else None,
        **distribution(args))
    prices = {t["name"]: t["overage_cost"] for t in catalog}
    out.write(plan_text(settings) + "\n")
    if ask is not None and not ask.confirm("Start?"):
        return None, prices
    return settings, prices


def main(argv: list[str] | None = None, stdin=None, stdout=None) -> int:
    """Run the stress test; return the process exit code."""
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["compare"]:
        from stress_test.compare import main as compare
        return compare(argv[1:], stdout)
    args = build_parser().parse_args(argv)

    def out(text: str) -> None:
        """Print a line now, even when stdout is a pipe."""
        stdout.write(text + "\n")
        stdout.flush()

    if args.worker:
        if not args.master_host:
            sys.stderr.write("run_stress_test: --worker needs --master-host HOST (the machine "
                             "running --master)\n")
            return EXIT_USAGE
        from stress_test.distributed import run_worker
        return run_worker(args.master_host, args.master_port, out)
    try:
        settings, prices = settings_from(args, stdin, stdout)
    except (targets.TargetError, NoAnswer, ValueError) as exc:
        sys.stderr.write(f"run_stress_test: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        out("\nCancelled; nothing was sent.")
        return EXIT_INTERRUPTED
    if settings is None:
        out("Cancelled; nothing was sent.")
        return EXIT_OK

    if settings.web:
        return run_in_web_process(settings, prices, stdout)
    try:
        from stress_test.runner import execute  # loads Locust only once a run is decided
    except KeyboardInterrupt:
        out("\nCancelled; nothing was sent.")
        return EXIT_INTERRUPTED
    run, stopped_by = execute(settings, prices, out)
    return finish(settings, run, stopped_by, out)


def finish(settings: RunSettings, run, stopped_by: str, out) -> int:
    """Print (and write) the summary of a finished run; return the exit code."""
    data = run_summary.summary(run, stopped_by)
    data["exit_reasons"] = exit_reasons(data, settings)
    out(run_summary.table(data))
    if run.report:
        run_summary.write(data, run.report.parent / reports.SUMMARY)
    if settings.summary_path:
        run_summary.write(data, settings.summary_path)
        out(f"\nSummary written to {settings.summary_path}")
    if stopped_by == "no-workers":
        sys.stderr.write(f"run_stress_test: {settings.workers_expected} worker(s) expected, "
                         f"{data['operations']} operations made; start them with --worker "
                         f"--master-host <this machine> --master-port {settings.master_port}\n")
        return EXIT_USAGE
    if data["exit_reasons"]:
        for reason in data["exit_reasons"]:
            sys.stderr.write(f"run_stress_test: {reason}; see the summary above and the server log\n")
        return EXIT_FAILURES
    return EXIT_INTERRUPTED if stopped_by == "interrupted" else EXIT_OK


def run_in_web_process(settings: RunSettings, prices: dict[str, float], stdout) -> int:
    """Run a --web load in `python -m stress_test.web_run`; relay its lines; return its code.

    Locust's web UI reads the process's command line as its own options, so the run gets a
    process whose command line is bare. It runs in its own process group and this process
    passes Ctrl-C and SIGTERM on, so each one reaches it once, from a terminal or from kill.
    """
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen([sys.executable, "-m", "stress_test.web_run"], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             process_group=0)

    def pass_on(signum, _frame) -> None:
        """Give the signal to the run, which stops gently the first time."""
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        child.stdin.write(json.dumps({"settings": settings.to_dict(), "overage_costs": prices}))
        child.stdin.close()
        for line in child.stdout:
            stdout.write(line)
            stdout.flush()
        return child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.kill()
