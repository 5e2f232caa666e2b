"""A loopback HTTP proxy that loses chosen borrow answers, fails returns or adds latency.

It forwards every request to the license server and its answer back, except that some
`POST /api/borrow` sends get a fault instead:

- `lost`: the server processes the borrow (a seat may be taken), then the proxy resets the
  client's connection before the answer arrives;
- `reset`: the proxy resets the client's connection before the server sees the request.

Which sends get a fault is decided per Idempotency-Key: the n-th new key gets
`plan[n % len(plan)]`, a list of faults for its first sends in order; later sends of that
key pass. A borrow without a key counts as a new key each time. Every borrow send is
recorded, so a test can tell a retry with the same key from a new borrow.

`failed_returns` N: the first N sends of `POST /api/return` for each seat are answered 500
without reaching the server (the seat stays borrowed). `delay` seconds are added before
every borrow and return is forwarded. `one_at_a_time`: borrows and returns pass one after
the other, each taking at least `delay`, so the proxy is a server of known capacity whose
latency grows with the number of clients waiting.
"""
from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from support.loopback_http import serve, stop

LOST, RESET = "lost", "reset"
# Hop-by-hop headers: they describe one connection and are not forwarded.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-connection", "content-length"}


@dataclass
class BorrowLog:
    """What the proxy saw of borrows: each key's sends and the faults it gave them."""

    plan: list[list[str]]
    sends: dict[str, int] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=dict)
    planned: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fate(self, key: str | None) -> str | None:
        """The fault for this send of `key` (None: forward it); records the send."""
        with self.lock:
            if key is None:
                # No key: nothing links a resend to this one, so each send is a new borrow.
                key = f"(no key {len(self.sends)})"
            if key not in self.sends:
                self.sends[key] = 0
                self.faults[key] = []
                self.planned[key] = self.plan[len(self.sends) % len(self.plan)]
            send = self.sends[key]
            self.sends[key] += 1
            planned = self.planned[key]
            fault = planned[send] if send < len(planned) else None
            if fault:
                self.faults[key].append(fault)
            return fault

    def count(self, fault: str) -> int:
        """How many sends got `fault`."""
        return sum(faults.count(fault) for faults in self.faults.values())


class FaultProxy:
    """`with FaultProxy(upstream, plan) as proxy:` serves on `proxy.url` until the block ends."""

    def __init__(self, upstream: str, plan: list[list[str]] | None = None, failed_returns: int = 0,
                 delay: float = 0.0, one_at_a_time: bool = False):
        """Forward to `upstream` (http://host:port), faulting borrows as `plan` says."""
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.log = BorrowLog(plan or [[]])
        self.failed_returns, self.delay = failed_returns, delay
        self.return_sends: Counter = Counter()  # seat id -> sends of its return
        self.returns_failed = 0
        self.one_at_a_time = threading.Lock() if one_at_a_time else None
        self.server, self.url = serve(self._handler())

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *_exc) -> None:
        stop(self.server)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the stress test's client expects

            def do_GET(self) -> None:
                self.relay()

            do_POST = do_PUT = do_DELETE = do_GET

            def relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fault = None
                path = self.path.split("?")[0]
                if self.command == "POST" and path == "/api/borrow":
                    fault = proxy.log.fate(self.headers.get("Idempotency-Key"))
                if fault == RESET:
                    return self.reset()
                if self.command == "POST" and path in ("/api/borrow", "/api/return") and proxy.delay:
                    if proxy.one_at_a_time is not None:
                        with proxy.one_at_a_time:
                            time.sleep(proxy.delay)
                    else:
                        time.sleep(proxy.delay)
                if self.command == "POST" and path == "/api/return" and proxy.fail_return(body):
                    return self.answer(500, b'{"error": "proxy_fault", "detail": "return failed"}',
                                       [("Content-Type", "application/json")])
                status, reason, headers, answer = proxy.forward(self.command, self.path,
                                                                self.headers, body)
                if fault == LOST:
                    return self.reset()
                self.answer(status, answer, headers, reason)

            def answer(self, status: int, body: bytes, headers, reason: str | None = None) -> None:
                self.send_response(status, reason)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def reset(self) -> None:
                # SO_LINGER 0: closing sends a TCP RST, the client sees its connection reset.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True

            def log_message(self, *_args) -> None:
                pass  # the server's own log records every request

        return Handler

    def fail_return(self, body: bytes) -> bool:
        """True when this send of a seat's return is one of its first `failed_returns`."""
        try:
            seat = json.loads(body).get("id")
        except (ValueError, AttributeError):
            return False
        with self.log.lock:
            self.return_sends[seat] += 1
            failing = self.return_sends[seat] <= self.failed_returns
            self.returns_failed += failing
        return failing

    def forward(self, method: str, path: str, headers, body: bytes):
        """Send one request to the server; its status, reason, headers and body."""
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            sent = {name: value for name, value in headers.items()
                    if name.lower() not in HOP_BY_HOP}
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            return answer.status, answer.reason, answer.getheaders(), answer.read()
        finally:
            connection.close()
