"""`python -m license_demo.deploy_configs`: render a deployment's Prometheus and Alertmanager configs.

    python -m license_demo.deploy_configs --target compose --out build/detection
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from license_demo.deploy_configs.addresses import COMPOSE, native_addresses
from license_demo.deploy_configs.alertmanager import render_cloud_alertmanager
from license_demo.deploy_configs.files import write_configs
from license_demo.deploy_configs.timings import PROFILES


def main(argv: list[str] | None = None) -> int:
    """Render the compose (or a native) configuration into a folder."""
    parser = argparse.ArgumentParser(
        description="Render prometheus.yml and alertmanager.yml from the committed sources.")
    parser.add_argument("--target", choices=["compose", "native", "cloud"], default="compose",
                        help="compose: service names; native: loopback ports; cloud: a hosted "
                             "Alertmanager (Grafana Cloud) notifying --server-url, secrets "
                             "inline (default compose)")
    parser.add_argument("--server-url", default="",
                        help="cloud: the license server's public URL, e.g. https://APP.fly.dev")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="demo",
                        help="rule and notification timings (default demo)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the files to")
    parser.add_argument("--server-port", type=int, default=8000)
    parser.add_argument("--prometheus-port", type=int, default=9090)
    parser.add_argument("--alertmanager-port", type=int, default=9093)
    args = parser.parse_args(argv)
    if args.target == "cloud":
        if not args.server_url:
            parser.error("--target cloud needs --server-url https://<app>.fly.dev")
        config, notes = render_cloud_alertmanager(args.server_url, args.profile)
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False, width=1000))
        path.chmod(0o600)
        print(f"wrote {path} (holds the Slack URL and SMTP password: upload it, never commit it)")
        for note in notes:
            print(f"  {note}")
        return 0
    if args.target == "compose":
        addresses = COMPOSE
    else:
        addresses = native_addresses(args.server_port, args.prometheus_port,
                                     args.alertmanager_port, args.out / "secrets")
    prometheus_path, alertmanager_path, notes = write_configs(args.out, addresses, args.profile)
    print(f"wrote {prometheus_path} and {alertmanager_path}")
    for note in notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
