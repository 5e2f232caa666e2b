"""Lease expiry: the server reclaims seats whose lease ran out, logs and counts it."""
from __future__ import annotations

import json
import time

import pytest

from license_server import stop_background
from license_server.config import DEFAULTS, load_tools
from license_server.store import Store

TOOL = "Vector - DaVinci Configurator SE"


def events(captured: str, name: str) -> list[dict]:
    """The JSON log lines of one event."""
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


def test_borrow_reports_its_lease_end(client):
    """A borrow with lease_seconds carries expires_at; one without has null."""
    leased = client.post("/api/borrow", json={"tool": TOOL, "user": "a", "lease_seconds": 60})
    assert leased.get_json()["expires_at"] > leased.get_json()["borrowed_at"]
    plain = client.post("/api/borrow", json={"tool": TOOL, "user": "b"})
    assert plain.get_json()["expires_at"] is None


def test_store_reaps_only_expired_leases(app):
    """reap_expired frees exactly the borrows whose lease ended, once."""
    store = app.extensions["store"]
    short = store.borrow(TOOL, "a", lease_seconds=10)
    long = store.borrow(TOOL, "b", lease_seconds=1000)
    forever = store.borrow(TOOL, "c")
    reaped = store.reap_expired(now=time.time() + 60)
    assert [seat["id"] for seat in reaped] == [short["id"]]
    assert store.reap_expired(now=time.time() + 60) == []
    assert {b["id"] for b in store.active_borrows()} == {long["id"], forever["id"]}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A fresh store with the catalog, on each backend (PostgreSQL: the session's cluster)."""
    url = (f"sqlite:///{tmp_path / 'leases.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_cluster").new_database())
    store = Store.from_url(url)
    store.init_schema()
    store.seed_tools(load_tools(DEFAULTS["TOOLS_FILE"]))
    yield store
    store.close()


def test_lease_is_reaped_at_its_expiry_not_a_millisecond_before(store):
    """The boundary, on an injected clock: at expires_at the seat is reclaimed (returned at its
    expiry), 1 ms earlier it is still held."""
    borrowed = 1_800_000_000.0
    seat = store.borrow(TOOL, "boundary", lease_seconds=60, now=borrowed)
    expiry = borrowed + 60
    assert store.reap_expired(now=expiry - 0.001) == []
    assert [b["id"] for b in store.active_borrows()] == [seat["id"]]
    reaped = store.reap_expired(now=expiry)
    assert [(b["id"], b["return_reason"], b["returned_at"]) for b in reaped] == \
        [(seat["id"], "lease_expired", seat["expires_at"])]
    assert store.active_borrows() == []


def test_sweeper_reclaims_logs_and_counts(app_factory, scrape, capsys):
    """With the periodic sweep on, an expired seat is freed, logged and counted."""
    app = app_factory(LEASE_REAP_INTERVAL=0.2)
    client = app.test_client()
    before = scrape(client).get(("license_lease_expirations_total", (("tool", TOOL),)), 0)
    seat = client.post("/api/borrow", json={"tool": TOOL, "user": "crashed-client",
                                            "team": "hil", "lease_seconds": 1}).get_json()
    deadline = time.monotonic() + 10
    while client.get(f"/api/tools/{TOOL}").get_json()["in_use"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.get(f"/api/tools/{TOOL}").get_json()["in_use"] == 0
    expired = events(capsys.readouterr().out, "lease_expired")
    assert [(e["borrow_id"], e["user"], e["team"], e["tool"]) for e in expired] == \
        [(seat["id"], "crashed-client", "hil", TOOL)]
    after = scrape(client)[("license_lease_expirations_total", (("tool", TOOL),))]
    assert after - before == 1
    answer = client.post("/api/return", json={"id": seat["id"]})
    assert answer.status_code == 409 and answer.get_json()["error"] == "already_returned"


def test_full_tool_reclaims_expired_leases_on_borrow(client, capsys):
    """Without waiting for the sweep, a borrow on a full tool first frees expired leases."""
    started = time.monotonic()
    for i in range(20):
        assert client.post("/api/borrow", json={"tool": TOOL, "user": f"u{i}",
                                                "lease_seconds": 2}).status_code == 201
    if time.monotonic() - started < 1.5:
        # Only meaningful while the first leases are still running.
        assert client.post("/api/borrow", json={"tool": TOOL, "user": "x"}).status_code == 409
    time.sleep(max(0.0, started + 2.2 - time.monotonic()))
    answer = client.post("/api/borrow", json={"tool": TOOL, "user": "x"})
    assert answer.status_code == 201
    # The commit seats were freed with the rest, so the new seat is a commit one.
    assert answer.get_json()["overage"] is False
    assert len(events(capsys.readouterr().out, "lease_expired")) == 20
    assert client.get(f"/api/tools/{TOOL}").get_json()["in_use"] == 1


def test_sweeper_and_incident_checks_stop_with_their_app(app_factory):
    """stop_background ends both loops; an expired lease is then left for the next app."""
    app = app_factory(LEASE_REAP_INTERVAL=0.05, INCIDENT_CHECK_INTERVAL=0.05)
    threads = app.extensions["background_threads"]
    assert sorted(thread.name for thread in threads) == ["incident-verifier", "lease-reaper"]
    assert all(thread.is_alive() for thread in threads)
    stop_background(app, timeout=5)
    assert not any(thread.is_alive() for thread in threads)
    # A lease that ran out ten seconds ago: six sweep intervals later nobody has reclaimed it.
    app.extensions["store"].borrow(TOOL, "after-stop", lease_seconds=1, now=time.time() - 10)
    time.sleep(0.3)
    assert app.test_client().get(f"/api/tools/{TOOL}").get_json()["in_use"] == 1
