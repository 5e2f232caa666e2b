"""Command-line options shared by the license-demo subcommands."""
from __future__ import annotations

import os

from license_demo.stack_urls import default_url, recorded_admin_token


def server_args(parser, token_help: str = "the server's admin token") -> None:
    """Add --server and --admin-token (flags win over the environment)."""
    env = os.environ.get
    parser.add_argument("--server", default=default_url("server", "LICENSE_SERVER_URL",
                                                        "http://127.0.0.1:8000"),
                        help="license server URL (default $LICENSE_SERVER_URL, else the one "
                             "`license-demo stack` recorded in .stack/urls.json, else "
                             "http://127.0.0.1:8000)")
    parser.add_argument("--admin-token", default=env("ADMIN_TOKEN") or recorded_admin_token(),
                        help=f"{token_help} (default $ADMIN_TOKEN, else the one the running "
                             "`license-demo stack` keeps in .stack/config/secrets/admin-token)")
