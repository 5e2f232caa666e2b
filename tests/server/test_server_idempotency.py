"""Idempotent borrows: a retried Idempotency-Key answers the first borrow, never a second seat."""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from license_server.errors import IdempotencyMismatch

TOOL = "ETAS - INCA"


def in_use(client) -> int:
    """Seats of TOOL in use."""
    return client.get(f"/api/tools/{TOOL}").get_json()["in_use"]


def test_a_retried_key_returns_the_first_borrow(client, scrape):
    """Same key and body twice: one seat, the same answer, counted once; another body is 422."""
    body = {"tool": TOOL, "user": "anna", "team": "powertrain"}
    headers = {"Idempotency-Key": "op-1"}
    first = client.post("/api/borrow", json=body, headers=headers)
    again = client.post("/api/borrow", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert in_use(client) == 1
    assert scrape(client)[("license_borrow_success_total", (("tool", TOOL),))] == 1

    other = client.post("/api/borrow", json={**body, "user": "bert"}, headers=headers)
    assert other.status_code == 422 and other.get_json()["error"] == "idempotency_key_reused"
    assert client.post("/api/borrow", json=body, headers={"Idempotency-Key": "op-2"}).status_code == 201
    assert client.post("/api/borrow", json=body).status_code == 201  # no key: a new seat each time
    assert in_use(client) == 3
    for bad in ("", "x" * 201, "ключ", "a b"):
        answer = client.post("/api/borrow", json=body, headers={"Idempotency-Key": bad})
        assert answer.status_code == 400 and "Idempotency-Key" in answer.get_json()["detail"]
    assert in_use(client) == 3

    # The seat returned, a retry still answers what the first call did (and takes nothing).
    client.post("/api/return", json={"id": first.get_json()["id"]})
    assert client.post("/api/borrow", json=body, headers=headers).get_json()["id"] == first.get_json()["id"]
    assert in_use(client) == 2


def test_keys_are_kept_for_the_documented_time(app):
    """Within IDEMPOTENCY_SECONDS the first answer; after it the key starts afresh."""
    store = app.extensions["store"]
    keep = app.config["IDEMPOTENCY_SECONDS"]
    assert keep == 24 * 3600
    now = time.time()
    key = ("k-1", "digest", float(keep))
    first = store.borrow(TOOL, "anna", idempotency=key, now=now)
    assert store.borrow(TOOL, "anna", idempotency=key, now=now + keep - 1)["id"] == first["id"]
    with pytest.raises(IdempotencyMismatch):
        store.borrow(TOOL, "anna", idempotency=("k-1", "other", float(keep)), now=now + 1)
    later = store.borrow(TOOL, "anna", idempotency=key, now=now + keep + 1)
    assert later["id"] != first["id"]
    assert store.forget_idempotency_keys(now + keep + 2) == 1


def send_and_hang_up(url: str, key: str, body: bytes) -> None:
    """Send a borrow and close the connection without reading the answer (a lost response)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /api/borrow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Idempotency-Key: " + key.encode() + b"\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        sock.shutdown(socket.SHUT_WR)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_lost_responses_and_racing_retries_yield_one_seat(backend, server_factory, request):
    """A borrow whose answer is lost, then retried, and ten simultaneous retries of one key on
    three gunicorn workers: one seat each time."""
    env = {}
    if backend == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("pg_cluster").new_database()
    server = server_factory(env=env, workers=3)
    body = {"tool": TOOL, "user": "lost-answer", "team": "qa"}
    lost = f"lost-{uuid.uuid4().hex}"
    send_and_hang_up(server.url, lost, json.dumps(body).encode())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not requests.get(
            f"{server.url}/api/borrows", params={"user": "lost-answer"}, timeout=10).json():
        time.sleep(0.05)
    retry = requests.post(f"{server.url}/api/borrow", json=body, timeout=10,
                          headers={"Idempotency-Key": lost})
    assert retry.status_code == 201 and retry.headers.get("Idempotent-Replayed") == "true"
    held = requests.get(f"{server.url}/api/borrows", params={"user": "lost-answer"}, timeout=10).json()
    assert [seat["id"] for seat in held] == [retry.json()["id"]]

    racing = f"race-{uuid.uuid4().hex}"
    start = threading.Barrier(10)

    def borrow(_):
        start.wait(timeout=30)
        return requests.post(f"{server.url}/api/borrow", timeout=30, headers={"Idempotency-Key": racing},
                             json={"tool": TOOL, "user": "racer", "team": "qa"})

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(borrow, range(10)))
    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers if a.status_code != 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert len(requests.get(f"{server.url}/api/borrows", params={"user": "racer"}, timeout=10).json()) == 1
