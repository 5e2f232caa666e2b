"""`license-demo mcp`: the MCP server over stdio (desktop agents) or streamable HTTP (--http)."""
from __future__ import annotations

import hmac
import json
import os
import sys

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from license_demo import cli_args
from license_demo.investigate import audit
from license_demo.stack_urls import default_url

DEFAULT_PORT = 8765
# As the admin API's token guard: this many wrong tokens from one client in a minute, then 429 until it ends.
TOKEN_ATTEMPTS = RateLimitItemPerMinute(10)


class BearerAuth:
    """ASGI guard: every HTTP request needs `Authorization: Bearer <token>`, compared in constant time;
    a client that sends wrong tokens too often is refused for the rest of the minute."""

    def __init__(self, app, token: str):
        """Guard `app` with `token`."""
        self.app, self.token = app, token.encode()
        self.failures = FixedWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope, receive, send):
        """Refuse a missing or wrong token with 401 and a JSON {error, detail}; pass the rest on."""
        if scope["type"] == "http":
            client = (scope.get("client") or ("?", 0))[0]
            if not self.failures.test(TOKEN_ATTEMPTS, client):
                await _refuse(send, 429, "too_many_requests", "Too many wrong MCP tokens from this client: wait a "
                                                              "minute, then send the right one.")
                return
            header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.token):
                if token:
                    self.failures.hit(TOKEN_ATTEMPTS, client)
                await _refuse(send, 401, "unauthorized", (
                    "This MCP endpoint needs its token: send 'Authorization: Bearer <token>' with the token "
                    "license-demo mcp was started with (--token or $MCP_TOKEN)." if not token else
                    "The MCP token is wrong: use the one license-demo mcp was started with."))
                return
        await self.app(scope, receive, send)


async def _refuse(send, status: int, error: str, detail: str) -> None:
    """Answer an HTTP request with the API's {error, detail} JSON."""
    headers = [(b"content-type", b"application/json")] + ([(b"www-authenticate", b"Bearer")] if status == 401 else [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps({"error": error, "detail": detail}).encode()})


def build(args):
    """The MCP server for the parsed arguments."""
    from license_demo.agents import evidence_view
    from license_demo.agents.mcp_server import LicenseDemoMCP
    cfg = evidence_view.StackConfig(
        server_url=args.server, admin_token=args.admin_token, prometheus_url=args.prometheus,
        alertmanager_url=args.alertmanager or None, loki_url=args.loki or None, rules_file=args.rules_file,
        contacts_file=args.contacts, audit_log=args.audit_log, notify_webhook=args.notify_webhook)
    return LicenseDemoMCP(cfg, allow_write=args.allow_write, runbooks_file=args.runbooks)


def run(args) -> int:
    """Serve until the client disconnects (stdio) or Ctrl-C (HTTP)."""
    if args.allow_write and not args.admin_token:
        print("error: --allow-write needs the admin token: set ADMIN_TOKEN or pass --admin-token", file=sys.stderr)
        return 2
    if args.http and not args.token:
        print("error: --http needs a token for its clients: set MCP_TOKEN (e.g. MCP_TOKEN=$(openssl rand -hex 16)) "
              "or pass --token", file=sys.stderr)
        return 2
    served = build(args)
    mode = "read-write (approver required)" if args.allow_write else "read-only"
    if not args.http:
        # stdout carries the protocol; what the operator reads goes to stderr.
        print(f"license-demo mcp: {mode}, stdio, stack at {args.server}", file=sys.stderr, flush=True)
        served.server.run("stdio")
        return 0
    import uvicorn
    app = BearerAuth(served.server.streamable_http_app(host=args.host), args.token)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}, not loopback: anyone who can reach it and holds the token "
              "can read the stack" + (" and change it" if args.allow_write else ""), file=sys.stderr)
    print(f"license-demo mcp: {mode}, streamable HTTP at http://{args.host}:{args.port}/mcp "
          f"(bearer token required), stack at {args.server}", file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")).run()
    return 0


def register(subparsers) -> None:
    """Add `mcp` to the license-demo CLI."""
    env = os.environ.get
    p = subparsers.add_parser(
        "mcp", help="serve the investigator's evidence and actions to AI agents (Model Context Protocol)",
        description="An MCP server over the running stack: alerts, seat usage, borrowers, overage logs, changes, "
                    "incidents, the built-in investigator and bounded PromQL as tools; the runbooks as resources; "
                    "an 'investigate this alert' prompt. Stdio by default (desktop agents); --http serves "
                    "streamable HTTP on loopback with a bearer token. Read-only unless --allow-write; every write "
                    "needs an approver's name and lands on the incident timeline and in the audit log. "
                    "See docs/agents.md.")
    cli_args.server_args(p, "admin token (needed by --allow-write, and to file incidents)")
    p.add_argument("--prometheus", default=default_url("prometheus", "PROMETHEUS_URL", "http://127.0.0.1:9090"),
                   help="Prometheus URL (default $PROMETHEUS_URL, else the running stack's, else http://127.0.0.1:9090)")
    p.add_argument("--alertmanager", default=default_url("alertmanager", "ALERTMANAGER_URL", "http://127.0.0.1:9093"),
                   help="Alertmanager URL (default $ALERTMANAGER_URL, else the running stack's; '' to skip)")
    p.add_argument("--loki", default=env("LOKI_URL", ""),
                   help="Loki URL for the overage log lines (default $LOKI_URL; without it, the server's records)")
    p.add_argument("--rules-file", default=env("RULES_SOURCE_FILE"),
                   help="the alert rules' source (default $RULES_SOURCE_FILE or prometheus/rules.src.yml)")
    p.add_argument("--contacts", default=env("TEAM_CONTACTS_FILE"),
                   help="YAML file of team leads and channels (default: the built-in demo teams)")
    p.add_argument("--audit-log", default=audit.default_path(),
                   help="JSON-lines audit file (default $INVESTIGATOR_AUDIT_LOG or investigator-audit.jsonl)")
    p.add_argument("--notify-webhook", default=env("NOTIFY_WEBHOOK_URL"),
                   help="chat webhook for notify-team actions (default $NOTIFY_WEBHOOK_URL)")
    p.add_argument("--runbooks", default=None, help="the runbooks file served as resources (default docs/runbooks.md)")
    p.add_argument("--allow-write", action="store_true",
                   help="enable apply_action and add_note (each still needs an approver's name)")
    p.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    p.add_argument("--host", default="127.0.0.1", help="--http: address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"--http: port (default {DEFAULT_PORT})")
    p.add_argument("--token", default=env("MCP_TOKEN"),
                   help="--http: the bearer token clients must send (default $MCP_TOKEN; required with --http)")
    p.set_defaults(func=run)
