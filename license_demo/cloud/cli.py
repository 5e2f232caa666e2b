"""The `cloud` subcommand of license-demo."""
from __future__ import annotations

import argparse

from license_demo.cloud import setup
from license_demo.cloud.api import CloudError
from license_demo.cloud.settings import REQUIRED, with_settings

SETTINGS_HELP = "\n".join(f"  {name:<20} {what}" for name, what in REQUIRED.items()) + """
  optional: ADMIN_TOKEN, ALERTMANAGER_USER / ALERTMANAGER_PASSWORD (default the PROMETHEUS_ ones),
  LOKI_URL / LOKI_USER / LOKI_PASSWORD (picks the Loki datasource), SLACK_WEBHOOK_URL, SMTP_*"""


@with_settings
def run_cloud(args, settings, values, out=print) -> int:
    """Set up (or tear down) the stack; exit 1 on a failed call, 2 on missing settings."""
    options = setup.Options(dry_run=args.dry_run, namespace=args.namespace, folder_uid=args.folder_uid,
                            prometheus_datasource=args.prometheus_datasource, loki_datasource=args.loki_datasource,
                            replace_alertmanager=args.replace_alertmanager)
    try:
        outcome = (setup.teardown(settings, options, out) if args.teardown
                   else setup.run(settings, values, options, out))
    except CloudError as exc:
        out(f"\nerror: {exc}")
        return 1
    count = len(outcome.changes)
    if not count:
        out("\nNothing to remove: the stack holds nothing of the demo." if args.teardown else
            "\nNothing to change: the stack already matches the repository.")
    elif args.dry_run:
        out(f"\nDry run: {count} change{'s' if count != 1 else ''} to make; run without --dry-run to make them.")
    else:
        out(f"\n{count} change{'s' if count != 1 else ''} made."
            + ("" if args.teardown else " Next: license-demo preflight --cloud"
               + (f" --env-file {args.env_file}" if args.env_file else "")))
    return 0


def register(subparsers) -> None:
    """Add `cloud` to the license-demo CLI."""
    parser = subparsers.add_parser(
        "cloud", help="set up Grafana Cloud (rules, Alertmanager, dashboards) for the app on Fly.io",
        description="Load the production rules (links opening this stack's Grafana), the Alertmanager "
                    "configuration (notifying the app's webhook with its bearer token) and the three "
                    "dashboards (with the stack's datasources) into a Grafana Cloud stack, through its "
                    "HTTP APIs. Compares first and writes only what differs: a second run changes nothing. "
                    "Settings come from the environment or --env-file (the environment wins); tokens are "
                    "never printed.\n\nSettings:\n" + SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-file", metavar="FILE",
                        help="KEY=value lines with the settings (keep it outside the repository)")
    parser.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    parser.add_argument("--teardown", action="store_true",
                        help="remove the folder with the dashboards, the rule namespace and the Alertmanager "
                             "configuration instead")
    parser.add_argument("--namespace", default=setup.rule_groups.NAMESPACE,
                        help="ruler namespace for the rule groups (default %(default)s)")
    parser.add_argument("--folder-uid", default=setup.grafana_setup.FOLDER_UID,
                        help="Grafana folder for the dashboards (default %(default)s)")
    parser.add_argument("--prometheus-datasource", metavar="UID",
                        help="the Prometheus datasource the dashboards use (default: the one serving PROMETHEUS_URL)")
    parser.add_argument("--loki-datasource", metavar="UID",
                        help="the Loki datasource the dashboards and alert links use (default: the one "
                             "serving LOKI_URL)")
    parser.add_argument("--replace-alertmanager", action="store_true",
                        help="replace an Alertmanager configuration that is not the demo's (by default "
                             "license-demo cloud refuses to, naming its receivers)")
    parser.set_defaults(func=run_cloud)
