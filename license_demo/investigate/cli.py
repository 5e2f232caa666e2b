"""The `investigate` and `incident` subcommands: report, approve, apply, verify, watch, export."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

from license_demo import cli_args
from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo import timestamps
from license_demo.investigate import audit, contacts, evidence, findings, remediation, wording
from license_demo.investigate.remediation import err as _err
from rule_source import load as load_rule_settings
from license_demo.investigate.investigation import Request, run

# The exit status when the license server cannot be reached (the report still says what Prometheus sees).
EXIT_UNREACHABLE = 3


def ask_tool(tools: list[str]) -> str | None:
    """Ask at the terminal which of the tools showing the symptom to investigate (Enter: the first)."""
    _err("Several tools show this symptom:")
    for i, tool in enumerate(tools, 1):
        _err(f"  {i}. {tool}")
    print(f"Which one? [1-{len(tools)}, Enter for 1]: ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline().strip()
    except (EOFError, OSError):
        answer = ""
    return tools[int(answer) - 1] if answer.isdigit() and 1 <= int(answer) <= len(tools) else tools[0]


def sources_from(args) -> evidence.Sources:
    """The API clients from the parsed arguments; a person at a terminal is asked to pick a tool."""
    interactive = sys.stdin.isatty() and not args.json and not args.watch
    return evidence.Sources(server=ServerClient(args.server, args.admin_token),
                            prometheus=PrometheusClient(args.prometheus),
                            alertmanager=AlertmanagerClient(args.alertmanager) if args.alertmanager else None,
                            loki_url=args.loki or None, ask_tool=ask_tool if interactive else None)


def settings_from(args) -> evidence.Settings:
    """Windows and thresholds from the parsed arguments."""
    hoarding = args.hoarding_seats
    if hoarding is None:
        # The same number SingleUserHoarding fires on, from the rules' one source.
        hoarding = int(load_rule_settings(args.rules_file).threshold("SingleUserHoarding"))
    return evidence.Settings(window=args.window, lookback=args.lookback, hoarding_seats=hoarding,
                             rules_file=args.rules_file)


def investigate_once(args, alert: str | None = None, tool: str | None = None, user: str | None = None,
                     notification: dict | None = None) -> dict:
    """Run one investigation (and the approval flow when asked); print it; return the result."""
    sources = sources_from(args)
    req = Request(text=args.text or "", alert=alert or args.alert, tool=tool or args.tool, user=user or args.user,
                  settings=settings_from(args), record_incident=not args.no_incident, notification=notification)
    inv = run(sources, req, contacts.load(args.contacts))
    log = audit.AuditLog(args.audit_log)
    log.write("investigated", audit.operator(),
              f"{inv.result['alert'] or 'no alert'} {inv.result.get('tool') or ''}".strip(),
              f"{inv.result['status']}: {inv.result['summary']}", incident=inv.result["incident_id"])
    if not args.json:
        print(findings.terminal(inv.result, show_queries=not args.brief), flush=True)
    if inv.result["error"]:
        _err(f"error: {inv.result['error']}")
    if (args.apply or args.approve) and inv.result["status"] != "nothing_abnormal":
        inv.result["applied"] = remediation.approve_and_apply(args, sources, inv, log)
    if args.json:
        print(json.dumps(inv.result, indent=2, default=str), flush=True)
    return inv.result


def watch(args) -> int:
    """Poll the server's webhook record; investigate each newly firing alert and note on its
    incident when it resolves. The server alone resolves incidents, once it verified a fix."""
    server = ServerClient(args.server, args.admin_token)
    seen: dict[str, str] = {}
    opened: dict[str, str] = {}
    deadline = time.monotonic() + args.max_seconds if args.max_seconds else None
    # Alerts already firing when the watch starts are left to a hand-started investigation.
    since = time.time()
    _err(f"watching {args.server}/api/alerts every {args.interval:g}s for new notifications (Ctrl-C stops)")
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                alerts = server.alerts()
            except DemoError as exc:
                _err(f"  {exc}; retrying")
                time.sleep(args.interval)
                continue
            for alert in reversed(alerts):
                labels = alert.get("labels", {})
                if str(labels.get("synthetic", "")).lower() == "true":
                    continue
                key = json.dumps(labels, sort_keys=True)
                stamp = f"{alert.get('status')}@{alert.get('startsAt')}"
                if seen.get(key) == stamp or (timestamps.epoch(alert.get("received_at")) or 0) < since:
                    continue
                seen[key] = stamp
                if alert.get("status") == "firing":
                    _err(f"\n{labels.get('alertname')} firing {labels.get('tool') or labels.get('user') or ''}: "
                         "investigating")
                    result = investigate_once(args, alert=labels.get("alertname"), tool=labels.get("tool"),
                                              user=labels.get("user"), notification=alert)
                    if result.get("incident_id"):
                        opened[key] = result["incident_id"]
                elif key in opened:
                    _note_resolved(server, opened.pop(key), alert)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        _err("stopped")
    return 0


def _note_resolved(server: ServerClient, incident_id: str, alert: dict) -> None:
    """Note on the incident that its alert resolved, and say what the server still waits for."""
    name = alert["labels"].get("alertname")
    body = {"events": [{"kind": "note", "at": alert.get("received_at"), "by": "investigate --watch",
                        "detail": f"{name} resolved (Alertmanager's notification, seen by the watcher)"}]}
    try:
        incident = server.call("PATCH", f"/api/incidents/{quote(incident_id, safe='')}", json=body,
                               admin=True).json()
    except DemoError as exc:
        _err(f"  could not note on {incident_id} that {name} resolved: {exc}")
        return
    _err(f"{incident_id}: {name} resolved; the incident is {incident.get('state', incident.get('status'))}"
         + (f", the server waits for {incident['waiting_for']}" if incident.get("waiting_for") else ""))


def run_investigate(args) -> int:
    """The `investigate` subcommand."""
    if args.approve and not (args.approver or "").strip():
        _err("error: --approve needs --approver NAME: the person who approves the change")
        return 2
    if not (args.text or args.alert or args.tool or args.user or args.watch):
        _err('error: say what to investigate, e.g. license-demo investigate "overage spike on DaVinci" '
             "or --alert HighOverageRate --tool ..., or use --watch")
        return 2
    try:
        contacts.load(args.contacts)
        if args.watch:
            return watch(args)
        result = investigate_once(args)
    except (DemoError, ValueError) as exc:
        _err(f"error: {exc}")
        return 1
    if result["status"] == "server_unreachable":
        return EXIT_UNREACHABLE
    applied = result.get("applied") or {}
    return 1 if applied.get("status") == "failed" or applied.get("verified") is False else 0


def run_incident(args) -> int:
    """The `incident` subcommand: list incidents or export one as Markdown."""
    server = ServerClient(args.server, args.admin_token)
    try:
        if args.incident_command == "export":
            text = server.call("GET", f"/incidents/{args.id}.md").text
            if args.out:
                Path(args.out).write_text(text)
                _err(f"wrote {args.out}")
            else:
                print(text)
        else:
            for i in server.call("GET", "/api/incidents").json():
                d = i["durations"]
                detect, resolve = (wording.duration(d[k]) if d[k] is not None else "-"
                                   for k in ("to_detect_seconds", "to_resolve_seconds"))
                print(f"{i['id']}  {i.get('state', i['status']):<11} {i['severity']:<8} {i['alert']:<20} "
                      f"{i.get('tool') or i.get('user') or '':<34} detect {detect:<6} resolve {resolve}")
    except DemoError as exc:
        _err(f"error: {exc}")
        return 1
    return 0


def _server_args(parser) -> None:
    """Where the server is and the token for incidents and actions."""
    cli_args.server_args(parser, "admin token for incidents and applying actions")


def register(subparsers) -> None:
    """Add `investigate` and `incident` to the license-demo CLI."""
    env = os.environ.get
    p = subparsers.add_parser(
        "investigate", help="gather facts for an alert or symptom, rank causes, recommend and apply fixes",
        description="Investigate an incident: facts from Prometheus (and Loki with --loki), hypotheses "
                    "scored by explicit rules, actions with exact commands. Nothing changes unless a "
                    "person approves: type yes at the prompt (--apply) or pass --approve ID --approver NAME. "
                    "Exit status: 0 done (also when nothing abnormal is found), 1 an applied action failed or "
                    "was not verified, 2 bad arguments, 3 the license server cannot be reached.")
    p.add_argument("text", nargs="?", help='what is wrong, e.g. "overage spike on DaVinci" (a tool, a user '
                                           "or a symptom)")
    p.add_argument("--alert", help="the alert name, e.g. HighOverageRate")
    p.add_argument("--tool", help="the tool (full name or a distinctive word)")
    p.add_argument("--user", help="the user")
    _server_args(p)
    p.add_argument("--prometheus", default=env("PROMETHEUS_URL", "http://127.0.0.1:9090"),
                   help="Prometheus URL (default $PROMETHEUS_URL or http://127.0.0.1:9090)")
    p.add_argument("--alertmanager", default=env("ALERTMANAGER_URL", "http://127.0.0.1:9093"),
                   help="Alertmanager URL (default $ALERTMANAGER_URL or http://127.0.0.1:9093; '' to skip)")
    p.add_argument("--loki", default=env("LOKI_URL", ""), help="Loki URL for log evidence (default $LOKI_URL; "
                                                              "optional)")
    p.add_argument("--window", type=int, default=600, help="seconds of recent activity to examine (default 600)")
    p.add_argument("--lookback", type=int, default=8 * 3600,
                   help="seconds of history for steady demand (default 28800, a working day)")
    p.add_argument("--hoarding-seats", type=int, default=None,
                   help="seats above which one user is hoarding (default: hoarding_seats of the rules' source, "
                        "the number the SingleUserHoarding alert fires on)")
    p.add_argument("--rules-file", default=env("RULES_SOURCE_FILE"),
                   help="the alert rules' source with their thresholds (default $RULES_SOURCE_FILE or the "
                        "checkout's prometheus/rules.src.yml)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (prompts go to stderr)")
    p.add_argument("--brief", action="store_true", help="leave the queries out of the terminal report")
    p.add_argument("--apply", action="store_true", help="ask at the terminal to approve and apply an action")
    p.add_argument("--action", help="with --apply: which action id (default: the first one that can be applied)")
    p.add_argument("--approve", metavar="ACTION_ID", help="approve this action without a prompt (needs --approver)")
    p.add_argument("--approver", help="the name of the person approving (recorded in the audit log)")
    p.add_argument("--verify-timeout", type=float, default=120.0,
                   help="seconds to wait for the metric and alert to recover after applying (default 120)")
    p.add_argument("--audit-log", default=audit.default_path(),
                   help="JSON-lines audit file (default $INVESTIGATOR_AUDIT_LOG or investigator-audit.jsonl)")
    p.add_argument("--notify-webhook", default=env("NOTIFY_WEBHOOK_URL"),
                   help="chat webhook for notify-team actions (default $NOTIFY_WEBHOOK_URL; without it the "
                        "message is printed to send by hand)")
    p.add_argument("--contacts", default=env("TEAM_CONTACTS_FILE"),
                   help="YAML file of team leads and channels (default: the built-in demo teams)")
    p.add_argument("--no-incident", action="store_true", help="do not open or update an incident on the server")
    p.add_argument("--watch", action="store_true",
                   help="poll the server's /api/alerts, investigate every newly firing alert and note on its "
                        "incident when it resolves (the server resolves incidents once it verified the fix)")
    p.add_argument("--interval", type=float, default=5.0, help="--watch: seconds between polls (default 5)")
    p.add_argument("--max-seconds", type=float, default=0, help="--watch: stop after this long (default: never)")
    p.set_defaults(func=run_investigate)

    inc = subparsers.add_parser("incident", help="list incidents or export a post-incident report",
                                description="Read the incidents the investigator recorded on the server.")
    _server_args(inc)
    sub = inc.add_subparsers(dest="incident_command", metavar="ACTION")
    _server_args(sub.add_parser("list", help="list incidents, newest first"))
    export = sub.add_parser("export", help="the post-incident report of one incident as Markdown")
    _server_args(export)
    export.add_argument("id", help="incident id, e.g. INC-0001")
    export.add_argument("--out", help="write to this file instead of stdout")
    inc.set_defaults(func=run_incident, incident_command="list")
