"""Several machines only on PostgreSQL: two server instances behind a round-robin proxy agree.

What `fly scale count 2` with DATABASE_URL set gives: two gunicorn servers on one PostgreSQL
database, requests spread over both by Fly's proxy (here a loopback round-robin proxy). A seat
borrowed through one must be returnable through the other, and both must count the same seats.
"""
from __future__ import annotations

import itertools
import threading
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from support.loopback_http import serve, stop

pytestmark = pytest.mark.postgres
TOOL = "Vector - DaVinci Configurator SE"


class RoundRobinProxy:
    """Forward each request to the next backend in turn; remember which one answered."""

    def __init__(self, backends: list[str]):
        self.backends = itertools.cycle(backends)
        self.served: list[tuple[str, str, str]] = []  # (method, path, backend)
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def forward(self):
                """Send the request on unchanged and copy the answer back."""
                with proxy.lock:
                    backend = next(proxy.backends)
                    proxy.served.append((self.command, self.path, backend))
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("content-type", "authorization", "x-request-id")}
                answer = requests.request(self.command, backend + self.path, data=body or None,
                                          headers=headers, timeout=10)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_PUT = forward  # noqa: N815 (http.server naming)

            def log_message(self, *args):
                """Quiet."""

        self.server, self.url = serve(Handler)

    def close(self):
        stop(self.server)


@pytest.fixture()
def two_machines(pg_cluster, server_factory):
    """Two servers on one fresh PostgreSQL database (the first start creates the schema)."""
    url = pg_cluster.new_database()
    servers = [server_factory(env={"DATABASE_URL": url}) for _ in range(2)]
    proxy = RoundRobinProxy([s.url for s in servers])
    yield servers, proxy
    proxy.close()


def test_borrows_and_returns_agree_across_two_instances(two_machines):
    """Borrow through the proxy, return through the other instance: both see the same seats."""
    servers, proxy = two_machines
    seats = []
    for i in range(8):
        answer = requests.post(f"{proxy.url}/api/borrow", timeout=10,
                               json={"tool": TOOL, "user": f"fly-{i % 3}", "team": "adas"})
        assert answer.status_code == 201, answer.text
        seats.append(answer.json())
    assert [s["overage"] for s in seats] == [False] * 5 + [True] * 3
    assert len({s["id"] for s in seats}) == 8
    # Even requests went to one instance, odd to the other: each return lands on the other
    # instance than the borrow it ends whenever the two requests alternate.
    for seat in seats[:4]:
        answer = requests.post(f"{proxy.url}/api/return", json={"id": seat["id"]}, timeout=10)
        assert answer.status_code == 200, answer.text
    again = requests.post(f"{proxy.url}/api/return", json={"id": seats[0]["id"]}, timeout=10)
    assert again.status_code == 409 and again.json()["error"] == "already_returned"
    backends = {backend for method, path, backend in proxy.served if path == "/api/return"}
    assert backends == {s.url for s in servers}, "returns must have reached both instances"

    views = []
    for server in servers:
        tool = requests.get(f"{server.url}/api/tools/{requests.utils.quote(TOOL, safe='')}",
                            timeout=10).json()
        active = sorted(b["id"] for b in requests.get(f"{server.url}/api/borrows",
                                                      params={"tool": TOOL}, timeout=10).json())
        views.append((tool["in_use"], tool["overage_in_use"], tool["available"], active))
    assert views[0] == views[1], views
    assert views[0][0] == 4 and views[0][3] == sorted(s["id"] for s in seats[4:])


def test_the_seat_limit_holds_across_instances(two_machines):
    """Commit + overage seats in all, however the borrows are spread: then 409 on both."""
    servers, proxy = two_machines
    tool = requests.get(f"{servers[0].url}/api/tools/{requests.utils.quote(TOOL, safe='')}",
                        timeout=10).json()
    capacity = tool["commit"] + tool["max_overage"]
    statuses = [requests.post(f"{proxy.url}/api/borrow", json={"tool": TOOL, "user": "ci"},
                              timeout=10).status_code for _ in range(capacity + 2)]
    assert statuses == [201] * capacity + [409, 409]
