"""Loopback Grafana, Loki and SMTP peers that speak the documented APIs the presenter's kit calls.

Grafana (https://grafana.com/docs/grafana/latest/developers/http_api/): `GET /api/health`
(`{"commit", "database": "ok", "version"}`), `GET /api/datasources/uid/<uid>/health`
(`200 {"status": "OK", "message"}`, `400 {"status": "ERROR", "message"}`, `404` unknown uid),
`GET /api/dashboards/uid/<uid>` (`200 {"dashboard", "meta"}`, `404 {"message": "Dashboard not
found"}`), bearer token required on /api except health (`401 {"message": "Unauthorized"}`).
Loki: `POST /loki/api/v1/push` checked against Loki's push schema (204), `GET
/loki/api/v1/query_range` answered over the pushed entries by tests/support/loki_query_api.py, `GET /ready`.
Both answer with a `Date` header that can be skewed.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema

from .loopback_http import serve, stop
from .loki_query_api import NS, QUERY_RANGE, BadRequest, Entry, range_request, select

PUSH_SCHEMA = json.loads((Path(__file__).parents[1] / "loki_push" / "loki_push_schema.json").read_text())


class Peer:
    """A threaded loopback HTTP server; subclasses answer in `handle(method, path, params, headers, body)`."""

    def __init__(self):
        """Start serving on a free loopback port."""
        self.skew = 0.0
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method):
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with peer.lock:
                    peer.requests.append({"method": method, "path": url.path, "params": params,
                                          "authorization": self.headers.get("Authorization")})
                status, payload = peer.handle(method, url.path, params, self.headers, body)
                if status in (301, 302):
                    self.send_response(status)
                    self.send_header("Location", payload)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = payload if isinstance(payload, bytes) else (
                    json.dumps(payload) if isinstance(payload, (dict, list)) else str(payload)).encode()
                self.send_response(status)
                kind = ("application/json" if isinstance(payload, (dict, list)) else
                        "text/html; charset=utf-8" if data.startswith(b"<!doctype") else "text/plain; charset=utf-8")
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 - http.server's naming
                """Answer a GET."""
                self._serve("GET")

            def do_POST(self):  # noqa: N802 - http.server's naming
                """Answer a POST."""
                self._serve("POST")

            def date_time_string(self, timestamp=None):
                """The Date header, off by the peer's skew."""
                return formatdate(time.time() + peer.skew, usegmt=True)

            def log_message(self, *args):
                """Keep the test output clean."""

        self.server, self.url = serve(Handler)

    def close(self) -> None:
        """Stop serving."""
        stop(self.server)


class GrafanaPeer(Peer):
    """Grafana's health, datasource health and dashboard-by-uid APIs."""

    def __init__(self, token: str, datasources: dict[str, str | None], dashboards: dict[str, str]):
        """`datasources`: uid → None (healthy) or an error message; `dashboards`: uid → title."""
        self.token, self.datasources, self.dashboards = token, datasources, dashboards
        super().__init__()

    def handle(self, method, path, params, headers, body):
        """One Grafana request."""
        if path == "/api/health":
            return 200, {"commit": "0123abcd", "database": "ok", "version": "11.2.0"}
        if path.startswith("/api/"):
            if headers.get("Authorization") != f"Bearer {self.token}":
                return 401, {"message": "Unauthorized"}
            parts = path.strip("/").split("/")
            if parts[:3] == ["api", "datasources", "uid"] and parts[4:] == ["health"]:
                if parts[3] not in self.datasources:
                    return 404, {"message": "Data source not found"}
                error = self.datasources[parts[3]]
                return (400, {"status": "ERROR", "message": error}) if error else \
                    (200, {"status": "OK", "message": "Data source is working"})
            if parts[:3] == ["api", "dashboards", "uid"] and len(parts) == 4:
                if parts[3] not in self.dashboards:
                    return 404, {"message": "Dashboard not found"}
                return 200, {"dashboard": {"uid": parts[3], "title": self.dashboards[parts[3]], "panels": []},
                             "meta": {"slug": parts[3], "provisioned": True}}
            return 404, {"message": "Not found"}
        if path.startswith("/d/") or path == "/explore":
            # Without a session or token Grafana sends the browser to its login page.
            if headers.get("Authorization") != f"Bearer {self.token}":
                return 302, "/login"
            return 200, f"<!doctype html><title>Grafana</title><h1>{path}</h1>".encode()
        if path == "/login":
            return 200, b"<!doctype html><title>Grafana</title><h1>Welcome to Grafana</h1>"
        return 404, "404 page not found"


class LokiPeer(Peer):
    """Loki's push (schema-checked) and range query over what was pushed."""

    def __init__(self, user: str | None = None, password: str | None = None):
        """Require basic auth `user`/`password` when given."""
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else None
        self.entries: list[Entry] = []
        super().__init__()

    def handle(self, method, path, params, headers, body):
        """One Loki request."""
        if path == "/ready":
            return 200, "ready"
        if self.auth and headers.get("Authorization") != self.auth:
            return 401, "no org id"
        if method == "POST" and path == "/loki/api/v1/push":
            payload = json.loads(body)
            jsonschema.validate(payload, PUSH_SCHEMA)
            with self.lock:
                for stream in payload["streams"]:
                    self.entries += [Entry(int(ts), stream["stream"], line) for ts, line in stream["values"]]
            return 204, b""
        if method == "GET" and path == QUERY_RANGE:
            try:
                request = range_request(params, int(time.time() * NS))
                with self.lock:
                    result = select(request, list(self.entries))
            except BadRequest as exc:
                return 400, str(exc)
            return 200, {"status": "success", "data": {"resultType": "streams", "result": result, "stats": {}}}
        return 404, "404 page not found"


class SMTPPeer:
    """A loopback SMTP server (RFC 5321 without TLS or AUTH) that keeps every message it accepts."""

    def __init__(self):
        """Start serving on a free loopback port."""
        import socketserver

        self.messages: list[str] = []
        peer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                """One SMTP session: greeting, commands, DATA until the lone dot."""
                self.wfile.write(b"220 peer ESMTP\r\n")
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-peer\r\n250 8BITMIME\r\n")
                    elif verb == "DATA":
                        self.wfile.write(b"354 end with <CRLF>.<CRLF>\r\n")
                        body = []
                        while (data := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            body.append(data.decode(errors="replace"))
                        with peer.lock:
                            peer.messages.append("".join(body))
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.lock = threading.Lock()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
