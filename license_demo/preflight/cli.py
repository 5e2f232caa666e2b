"""The `preflight` subcommand of license-demo."""
from __future__ import annotations

import os
from pathlib import Path

from license_demo import cli_args
from license_demo.cloud.settings import with_settings
from license_demo.preflight import Targets, cloud_checks, run
from license_demo.preflight.targets import STORY_TOOLS_FILE
from license_demo.stack_urls import default_url, recorded


@with_settings
def run_cloud_preflight(args, settings, _values, out=print) -> int:
    """The checks of the Fly.io and Grafana Cloud stage; exit 1 when any is ✗, 2 on missing settings."""
    targets = Targets(server=settings.server_url, admin_token=settings.admin_token or args.admin_token,
                      grafana=settings.grafana_url, grafana_token=settings.grafana_token,
                      tools_file=Path(args.tools_file), reset=args.reset, stress_test=not args.no_stress_test,
                      clock_tolerance=args.clock_tolerance)
    return 1 if cloud_checks.run(settings, targets, out).failures() else 0


def run_preflight(args, out=print) -> int:
    """Run every check; exit 1 when any is ✗."""
    if args.cloud:
        return run_cloud_preflight(args, out)
    env = os.environ.get
    targets = Targets(
        server=args.server, admin_token=args.admin_token, prometheus=args.prometheus,
        alertmanager=args.alertmanager, loki=args.loki, loki_user=args.loki_user,
        loki_password=env("LOKI_PASSWORD"), grafana=args.grafana, grafana_token=env("GRAFANA_TOKEN"),
        datasource_uids=args.datasource_uid or [], tools_file=Path(args.tools_file), reset=args.reset,
        stress_test=not args.no_stress_test, clock_tolerance=args.clock_tolerance,
        baseline=bool(recorded("baseline")) and recorded("server") == args.server.rstrip("/"))
    report = run(targets, out)
    return 1 if report.failures() else 0


def register(subparsers) -> None:
    """Add `preflight` to the license-demo CLI."""
    env = os.environ.get
    parser = subparsers.add_parser(
        "preflight", help="check the whole stack before the audience arrives",
        description="Check the stack the demo will use (native, compose, or Fly.io with Grafana Cloud): "
                    "the server's state, Prometheus's scrape and rules, a test notification through "
                    "Alertmanager, Loki and Grafana when given, the clocks, the stress test. Prints one "
                    "line per check, ✓ or ✗ with what to do, then the tabs to open; exits 1 when "
                    "anything is ✗.")
    cli_args.server_args(parser)
    parser.add_argument("--prometheus", default=default_url("prometheus", "PROMETHEUS_URL", "http://127.0.0.1:9090"),
                        help="Prometheus URL (default $PROMETHEUS_URL, else the running stack's, else "
                             "http://127.0.0.1:9090; '' to skip)")
    parser.add_argument("--alertmanager", default=default_url("alertmanager", "ALERTMANAGER_URL",
                                                              "http://127.0.0.1:9093"),
                        help="Alertmanager URL (default $ALERTMANAGER_URL, else the running stack's, else "
                             "http://127.0.0.1:9093; '' to skip)")
    parser.add_argument("--loki", default=env("LOKI_URL", ""),
                        help="Loki URL (default $LOKI_URL; credentials from $LOKI_USER and $LOKI_PASSWORD)")
    parser.add_argument("--loki-user", default=env("LOKI_USER"), help="Loki user (default $LOKI_USER)")
    parser.add_argument("--grafana", default=env("GRAFANA_URL", ""),
                        help="Grafana URL (default $GRAFANA_URL; the token comes from $GRAFANA_TOKEN)")
    parser.add_argument("--datasource-uid", action="append", metavar="UID",
                        help="a Grafana datasource to health-check (repeatable; default the provisioned "
                             "prometheus, loki, alertmanager)")
    parser.add_argument("--tools-file", default=env("TOOLS_FILE", str(STORY_TOOLS_FILE)),
                        help="the story's starting catalog (default $TOOLS_FILE or license_server/tools.yaml)")
    parser.add_argument("--reset", action="store_true",
                        help="first restore the story's starting state (seats, configuration, faults)")
    parser.add_argument("--no-stress-test", action="store_true", help="do not try the stress test")
    parser.add_argument("--clock-tolerance", type=float, default=1.0,
                        help="largest clock difference accepted, in seconds (default 1)")
    parser.add_argument("--cloud", action="store_true",
                        help="check the Fly.io app and the Grafana Cloud stack instead (settings as for "
                             "`license-demo cloud`: the environment or --env-file)")
    parser.add_argument("--env-file", metavar="FILE", help="--cloud: KEY=value lines with the settings")
    parser.set_defaults(func=run_preflight)
