"""The `journey` and `reset` subcommands of license-demo."""
from __future__ import annotations

import os
from pathlib import Path

import requests

from license_demo.journeys import act_observers, journey_runner, timeline_report
from license_demo import cli_args
from license_demo.browser import BrowserMissing
from license_demo.clients import (AlertmanagerClient, DemoError, GrafanaClient, PrometheusClient,
                                  ServerClient)
from license_demo.journeys.catalogue import JOURNEYS
from license_demo.stack_urls import default_url


def _connection_args(parser) -> None:
    """Add the addresses of the server and Prometheus (flags win over the environment)."""
    cli_args.server_args(parser)
    parser.add_argument("--prometheus", default=default_url("prometheus", "PROMETHEUS_URL",
                                                            "http://127.0.0.1:9090"),
                        help="Prometheus URL (default $PROMETHEUS_URL, else the running "
                             "stack's, else http://127.0.0.1:9090)")


def build_context(args, out=print) -> journey_runner.JourneyContext:
    """Clients and settings for one run, from the parsed arguments."""
    grafana_token = os.environ.get("GRAFANA_TOKEN")
    grafana = GrafanaClient(args.grafana, grafana_token) if args.grafana and grafana_token else None
    return journey_runner.JourneyContext(
        server=ServerClient(args.server, args.admin_token),
        prometheus=PrometheusClient(args.prometheus) if args.prometheus else None,
        alertmanager=AlertmanagerClient(args.alertmanager) if args.alertmanager else None,
        grafana=grafana, mode=args.mode, seed=args.seed,
        grafana_url=args.grafana or "http://localhost:3000", workdir=Path(args.report_dir),
        alert_timeout=args.alert_timeout, out=out,
        options={"prometheus_data": args.prometheus_data, "history_loaded": args.history_loaded,
                 "ops": getattr(args, "ops", None)})


def run_journey(args, out=print) -> int:
    """Play one journey; in auto mode write the timeline report (also after a failure)."""
    journey = JOURNEYS[args.name]
    ctx = build_context(args, out)
    try:
        ctx.server.call("GET", "/healthz")
        ctx.server.faults()
    except DemoError as exc:
        out(f"error: {exc}\nStart the server (`license-demo stack` or `make demo`) or pass --server.")
        return 1
    failure = None
    try:
        ctx.observers = act_observers.build(args, journey, ctx)
    except BrowserMissing as exc:
        out(f"error: {exc}")
        return 2
    try:
        journey_runner.run(journey, ctx)
    except (DemoError, requests.RequestException) as exc:
        failure = str(exc)
        out(f"\nerror: {failure}")
    except KeyboardInterrupt:
        failure = "interrupted"
        out("\ninterrupted")
    if ctx.timeline is not None:
        if failure:
            ctx.timeline.notes.append(f"The run stopped early: {failure}")
        if args.mode == "auto" or args.report:
            md_path, json_path = timeline_report.write(journey, ctx.timeline, Path(args.report_dir))
            out(f"\n{timeline_report.to_markdown(journey, ctx.timeline)}")
            out(f"report: {md_path}\n        {json_path}")
    act_observers.finish(ctx.observers, journey, ctx)
    return 1 if failure else 0


def run_reset(args, out=print) -> int:
    """Return the server to its fresh demo state (the server closes its open incidents);
    optionally delete Prometheus's series too."""
    server = ServerClient(args.server, args.admin_token)
    try:
        answer = server.reset()
        for fault in server.faults():
            if fault.get("variant", "off") != "off":
                server.set_fault(fault["name"], "off")
    except DemoError as exc:
        out(f"error: {exc}")
        return 1
    out(f"license server at {args.server}: fresh demo state, every fault off. {answer.get('detail', '')}".rstrip())
    if args.clear_prometheus:
        base = args.prometheus.rstrip("/") + "/api/v1/admin/tsdb"
        try:
            deleted = requests.post(base + "/delete_series", params={"match[]": '{__name__=~".+"}'},
                                    timeout=60)
            if deleted.status_code != 204:
                raise DemoError(f"HTTP {deleted.status_code}")
            requests.post(base + "/clean_tombstones", timeout=120)
        except (DemoError, requests.RequestException) as exc:
            out(f"error: Prometheus at {args.prometheus} refused to delete its data ({exc}): it needs "
                "--web.enable-admin-api; for the native stack stop it and start `license-demo stack "
                "--fresh`, for compose run `docker compose down -v`")
            return 1
        out(f"Prometheus at {args.prometheus}: every series deleted")
    return 0


def register(subparsers) -> None:
    """Add `journey` and `reset` to the license-demo CLI."""
    names = ", ".join(f"{name} ({s.title.lower()})" for name, s in JOURNEYS.items())
    parser = subparsers.add_parser(
        "journey", help="play one of the demo journeys (guided or as a rehearsal)",
        description=f"Play a demo journey act by act. Journeys: {names}. Guided mode pauses "
                    "before each act and prints what to say and which page to open; auto mode "
                    "runs through and ends with a timeline report (Markdown and JSON).")
    parser.add_argument("name", choices=sorted(JOURNEYS), help="which journey")
    parser.add_argument("--mode", choices=["guided", "auto"], default="guided",
                        help="guided: pause between acts (default); auto: rehearsal, no pauses")
    parser.add_argument("--seed", type=int, default=42, help="seed for load, history and ids (default 42)")
    _connection_args(parser)
    env = os.environ.get
    parser.add_argument("--alertmanager", default=default_url("alertmanager", "ALERTMANAGER_URL",
                                                              "http://127.0.0.1:9093"),
                        help="Alertmanager URL (default $ALERTMANAGER_URL, else the running "
                             "stack's, else http://127.0.0.1:9093)")
    parser.add_argument("--grafana", default=env("GRAFANA_URL"),
                        help="Grafana URL for links and annotations (default $GRAFANA_URL; "
                             "annotations also need $GRAFANA_TOKEN)")
    parser.add_argument("--report-dir", default="demo-reports",
                        help="where the timeline reports go (default demo-reports/)")
    parser.add_argument("--report", action="store_true", help="write the report in guided mode too")
    act_observers.add_arguments(parser)
    parser.add_argument("--alert-timeout", type=float, default=180.0,
                        help="seconds to wait for an alert to fire or resolve (default 180)")
    parser.add_argument("--prometheus-data", default=env("PROMETHEUS_DATA_DIR"),
                        help="capacity-planning: the Prometheus data dir to backfill "
                             "(native stack: .stack/prometheus; default $PROMETHEUS_DATA_DIR)")
    parser.add_argument("--ops", type=int, metavar="N",
                        help="overage-crisis: operations per worker of each build-job run "
                             "(default: the heavy profile's 100, the guide's run; fewer for a "
                             "quick rehearsal, same pace)")
    parser.add_argument("--history-loaded", action="store_true",
                        help="capacity-planning: the month was loaded into Prometheus beforehand "
                             "(e.g. in the compose stack); only check and analyse it")
    parser.set_defaults(func=run_journey)

    reset = subparsers.add_parser(
        "reset", help="return the license server (and optionally Prometheus) to a fresh demo state",
        description="Reset the server's seats and configuration, switch every fault off and, "
                    "with --clear-prometheus, delete every series in Prometheus. The server closes "
                    "its open incidents (status closed: no fix was verified).")
    _connection_args(reset)
    reset.add_argument("--clear-prometheus", action="store_true",
                       help="also delete Prometheus's series (needs --web.enable-admin-api)")
    reset.set_defaults(func=run_reset)
