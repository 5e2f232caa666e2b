"""Malformed requests: each is a 4xx {"error", "detail"} that changes nothing.

The in-process client covers the app's own checks; one real gunicorn server covers what
gunicorn refuses before the app (request line and header limits) and the 405's Allow header.
"""
from __future__ import annotations

import socket

import pytest
import requests

from license_server.config import DEFAULTS, load_tools

TOOL = "ETAS - INCA"
JSON = {"Content-Type": "application/json"}
CATALOG_COMMIT = next(int(t["commit"]) for t in load_tools(DEFAULTS["TOOLS_FILE"]) if t["name"] == TOOL)
ENDPOINTS = ["/api/borrow", "/api/return", "/api/alerts/webhook", "/api/client-errors",
             "/api/config/tools/ETAS - INCA"]


def assert_refused(answer, status=400, code="invalid_request"):
    """The answer is the JSON error shape with `status` and `code`."""
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    assert set(body) == {"error", "detail"} and body["error"] == code, body
    assert body["detail"]


def nothing_changed(client) -> None:
    """No seat, no alert, no configuration change since the fresh start."""
    assert all(tool["in_use"] == 0 for tool in client.get("/api/tools").get_json())
    assert client.get("/api/alerts").get_json() == []
    assert client.get("/api/tools/ETAS - INCA").get_json()["commit"] == CATALOG_COMMIT


@pytest.mark.parametrize("path", ENDPOINTS)
def test_deep_nesting_and_huge_numbers_are_refused_everywhere(client, admin, path):
    """[ x 10,000, a 5,000-digit integer, 1e999 and NaN: 400 on every JSON endpoint."""
    method = client.put if path.startswith("/api/config") else client.post
    for body in ("[" * 10_000, "{\"a\":" * 2_000 + "1" + "}" * 2_000,
                 '{"tool": "ETAS - INCA", "user": "a", "lease_seconds": ' + "9" * 5000 + "}",
                 '{"commit": ' + "1" * 4301 + "}", '{"lease_seconds": 1e999}', '{"commit": NaN}'):
        assert_refused(method(path, data=body, headers={**JSON, **admin}))
    nothing_changed(client)


@pytest.mark.parametrize("path", ["/api/borrow", "/api/return"])
def test_nesting_limit_is_exactly_max_json_depth(client, admin, path):
    """33 levels (one past MAX_JSON_DEPTH) are refused by the nesting check itself, naming the
    limit; 32 levels pass it and are judged by the schema instead."""
    limit = 32      # the documented MAX_JSON_DEPTH, written out: a raised default must fail here

    def nested(levels: int) -> str:
        return '{"a": ' * levels + "1" + "}" * levels

    deep = client.post(path, data=nested(limit + 1), headers={**JSON, **admin})
    assert_refused(deep)
    assert f"nested more than {limit} levels" in deep.get_json()["detail"]
    at_limit = client.post(path, data=nested(limit), headers={**JSON, **admin})
    assert at_limit.status_code == 400 and "nested" not in at_limit.get_json()["detail"], at_limit.get_json()
    nothing_changed(client)


@pytest.mark.parametrize("text", ["ETAS - INCA\x00", "ETAS\x01 - INCA", "ETAS - INCA\x7f"])
def test_control_characters_in_identifiers_are_refused(client, text):
    """NUL and other control characters in tool, user, team and id never reach the database."""
    for body in ({"tool": text, "user": "anna"}, {"tool": TOOL, "user": text},
                 {"tool": TOOL, "user": "anna", "team": text}):
        assert_refused(client.post("/api/borrow", json=body))
    assert_refused(client.post("/api/return", json={"id": text}))
    assert_refused(client.get("/api/borrows", query_string={"tool": text}))
    quoted = requests.utils.quote(text)
    assert_refused(client.get(f"/api/tools/{quoted}"))
    nothing_changed(client)


def test_unpaired_surrogates_and_bad_utf8_are_refused(client):
    """A lone surrogate escape or bytes that are not UTF-8 are a 400, not a database error."""
    assert_refused(client.post("/api/borrow", data='{"tool": "\\ud800", "user": "a"}', headers=JSON))
    assert_refused(client.post("/api/borrow", data=b'{"tool": "\xff", "user": "a"}', headers=JSON))
    assert_refused(client.post("/api/borrow", data={"tool": TOOL, "user": "a\x00b"}))
    nothing_changed(client)


def test_form_errors_on_the_pages_are_pages(client):
    """A browser's form post refused by a guard gets the site's page with the sentence and a
    link back, status unchanged; the same refusal on the API stays JSON."""
    page = client.post("/config/login", data={"token": "x", "name": "a\x00b"})
    assert page.status_code == 400 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "A form field contains a NUL character" in text and 'href="/config"' in text
    assert 'data-page="error"' in text and "Nothing was changed." in text
    stale = client.post("/incidents/no-such/approve", data={"action": "a", "csrf_token": "stale"})
    assert stale.status_code == 400 and stale.mimetype == "text/html"
    assert "Reload /incidents/no-such" in stale.get_data(as_text=True)
    assert 'href="/incidents/no-such"' in stale.get_data(as_text=True)
    big = client.post("/config", data={"tool": "x" * 65 * 1024})
    assert big.status_code == 413 and "the server accepts at most" in big.get_data(as_text=True)
    # A browser asking for a page that is not there gets a page; requests' */* gets JSON.
    missing = client.get("/incidents/nope", headers={"Accept": "text/html,*/*;q=0.8"})
    assert missing.status_code == 404 and 'href="/incidents"' in missing.get_data(as_text=True)
    assert_refused(client.get("/incidents/nope"), 404, "not_found")
    assert_refused(client.get("/api/tools/nope", headers={"Accept": "text/html"}), 404, "unknown_tool")
    assert_refused(client.post("/api/borrow", data={"tool": "a\x00b", "user": "a"},
                               headers={"Accept": "text/html"}))
    nothing_changed(client)


def test_bodies_over_the_limits_answer_413(client):
    """64 KiB for the API, 512 KiB for Alertmanager's webhook: 413 JSON beyond them."""
    assert client.application.config["MAX_CONTENT_LENGTH"] == 64 * 1024
    big = '{"tool": "ETAS - INCA", "user": "a", "pad": "' + "x" * 65 * 1024 + '"}'
    assert_refused(client.post("/api/borrow", data=big, headers=JSON), 413, "too_large")
    huge = '{"status": "firing", "alerts": [], "pad": "' + "x" * 513 * 1024 + '"}'
    assert_refused(client.post("/api/alerts/webhook", data=huge, headers=JSON), 413, "too_large")
    nothing_changed(client)


def raw_http(url: str, request: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes to the server; return status, headers and body of the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_gunicorn_limits_answer_json_and_405_keeps_allow(server_factory):
    """Over-long request line and headers, garbage HTTP, 405: JSON errors from a real gunicorn."""
    import json
    server = server_factory(workers=1)
    long_line = b"GET /api/tools?x=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    long_header = b"GET /api/tools HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"
    many_headers = b"GET /api/tools HTTP/1.1\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(150)) + b"\r\n"
    for raw, status, code in ((long_line, 414, "uri_too_long"), (long_header, 431, "headers_too_large"),
                              (many_headers, 431, "headers_too_large"),
                              (b"BLAH\x01 / HTTP/1.1\r\n\r\n", 400, "invalid_request")):
        got, headers, body = raw_http(server.url, raw)
        assert got == status and headers["Content-Type"] == "application/json", (got, headers, body)
        assert json.loads(body)["error"] == code and json.loads(body)["detail"]
    answer = requests.delete(server.url + "/api/borrow", timeout=10)
    assert answer.status_code == 405 and answer.json()["error"] == "method_not_allowed"
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}
    assert requests.get(server.url + "/api/tools", timeout=10).status_code == 200
