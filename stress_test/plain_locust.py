"""Support for running the locustfile with the plain `locust` command: options, state, summary."""
from __future__ import annotations

import sys

from stress_test import run_summary, seats
from stress_test.profiles import PROFILES, Profile
from stress_test.run_state import RunState
from stress_test.settings import DEFAULT_SEED, RunSettings
from stress_test.tool_catalog import read_tools

DEFAULT_TOOL = "Vector - DaVinci Configurator SE"


def add_arguments(parser) -> None:
    """The license-server options added to Locust's own command line."""
    group = parser.add_argument_group("license server stress test")
    group.add_argument("--license-tool", default=DEFAULT_TOOL,
                       help="tool to borrow, or 'all' for every tool of /api/tools "
                            f"(default: {DEFAULT_TOOL})")
    group.add_argument("--license-ops", type=int, default=100,
                       help="borrow operations per user; the run's budget is users x this (default 100)")
    group.add_argument("--license-pace", choices=sorted(PROFILES), default="heavy",
                       help="think and hold times of this profile (default heavy)")
    group.add_argument("--license-seed", type=int, default=DEFAULT_SEED,
                       help=f"seed of the simulated population (default {DEFAULT_SEED})")
    group.add_argument("--license-team", default=None, help="draw engineers from this team only")
    group.add_argument("--license-user-prefix", default=None,
                       help="name users <prefix>-01, <prefix>-02, ... instead of roster names")


def create_run(environment) -> RunState:
    """Build and attach the run state from Locust's parsed options (pooled budget)."""
    options = environment.parsed_options
    catalog = read_tools(environment.host)
    names = [tool["name"] for tool in catalog]
    tools = names if options.license_tool == "all" else [options.license_tool]
    if tools[0] not in names:
        sys.exit(f"--license-tool {options.license_tool!r} is not served by {environment.host}; "
                 f"choose one of: {', '.join(names)} or all")
    users = max(1, int(getattr(options, "num_users", None) or 1))
    pace = PROFILES[options.license_pace].pace
    classes = getattr(environment, "user_classes", None) or []
    mode = next((cls.mode for cls in classes if getattr(cls, "mode", "")), "full-cycle")
    settings = RunSettings(
        target=environment.host, tools=tools, mode=mode,
        tool_label="all tools" if options.license_tool == "all" else options.license_tool,
        profile=Profile("custom", users, options.license_ops, pace, "plain locust"),
        seed=options.license_seed, team=options.license_team,
        user_prefix=options.license_user_prefix)
    run = RunState.create(settings, pooled=True,
                          overage_costs={t["name"]: t["overage_cost"] for t in catalog})
    environment.license_plain = True
    return run.attach(environment)


def finish_run(environment, run: RunState) -> None:
    """Return the seats a cycle mode still holds, then print the summary table."""
    if run.settings.returns_seats:
        seats.return_held(run)
    print(run_summary.table(run_summary.summary(run, stopped_by="locust")))
