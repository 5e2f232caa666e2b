"""The seat rule under concurrency: in use never exceeds commit + max_overage.

Borrowers race from threads, from separate processes and as HTTP clients of a real
gunicorn server with several workers, each on SQLite and on a private PostgreSQL 15
cluster started for the session (pg_cluster, tests/conftest.py).
"""
from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from license_server.config import DEFAULTS, load_tools
from license_server.errors import Exhausted
from license_server.store import Store

TOOL = "Vector - DaVinci Configurator SE"
CATALOG = load_tools(DEFAULTS["TOOLS_FILE"])
SPEC = next(tool for tool in CATALOG if tool["name"] == TOOL)
COMMIT, MAX_OVERAGE = int(SPEC["commit"]), int(SPEC["max_overage"])
CAPACITY = COMMIT + MAX_OVERAGE


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    return request.getfixturevalue("pg_cluster").new_database()


def seeded_store(url: str) -> Store:
    """A store on `url` with the schema and the repository's catalog."""
    store = Store.from_url(url)
    store.init_schema()
    store.seed_tools(CATALOG)
    return store


def check_final_state(store: Store, granted: list[dict]) -> None:
    """Exactly the capacity was granted: commit seats first, then overage, each charged once."""
    assert len(granted) == CAPACITY, f"{len(granted)} seats granted, capacity is {CAPACITY}"
    assert sum(1 for seat in granted if not seat["overage"]) == COMMIT
    assert sum(1 for seat in granted if seat["overage"]) == MAX_OVERAGE
    assert len({seat["id"] for seat in granted}) == CAPACITY
    tool = store.get_tool(TOOL)
    assert (tool["in_use"], tool["commit_in_use"], tool["overage_in_use"], tool["available"]) == \
        (CAPACITY, COMMIT, MAX_OVERAGE, 0)
    assert tool["overage_cost_total"] == pytest.approx(MAX_OVERAGE * float(SPEC["overage_cost"]))


def test_threads_grant_exactly_the_seats(database_url):
    """Twice as many threads as seats borrow at once: the capacity is granted, the rest refused."""
    store = seeded_store(database_url)
    start = threading.Barrier(2 * CAPACITY)
    granted, refused, lock = [], [], threading.Lock()

    def borrower(index: int) -> None:
        start.wait(timeout=30)
        try:
            seat = store.borrow(TOOL, f"thread-{index}", team="race")
        except Exhausted as exc:
            with lock:
                refused.append(exc)
            return
        with lock:
            granted.append(seat)

    threads = [threading.Thread(target=borrower, args=(i,), daemon=True) for i in range(2 * CAPACITY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(refused) == CAPACITY
    check_final_state(store, granted)


def test_threads_churn_never_exceed_the_limit(database_url):
    """Borrow-and-return churn from more threads than seats never holds more than allowed."""
    store = seeded_store(database_url)
    held, peak, lock = [0], [0], threading.Lock()
    stop = threading.Event()
    violations: list[str] = []

    def churn(index: int) -> None:
        for _ in range(15):
            try:
                seat = store.borrow(TOOL, f"churn-{index}", team="race")
            except Exhausted:
                continue
            with lock:
                held[0] += 1
                peak[0] = max(peak[0], held[0])
            time.sleep(0.002)
            with lock:
                held[0] -= 1
            store.return_borrow(seat["id"])

    def watch() -> None:
        while not stop.is_set():
            tool = store.get_tool(TOOL)
            if tool["in_use"] > CAPACITY or tool["commit_in_use"] > COMMIT:
                violations.append(f"{tool['in_use']} in use, {tool['commit_in_use']} on commit")

    # A daemon watcher stopped in `finally`: a failing churn fails the test at once, leaving
    # nothing running.
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=CAPACITY + 10) as pool:
            list(pool.map(churn, range(CAPACITY + 10)))
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert not violations, violations[:5]
    assert peak[0] <= CAPACITY
    assert store.get_tool(TOOL)["in_use"] == 0


def borrow_in_process(url: str, name: str, attempts: int, start, results) -> None:
    """Child process: wait for the start signal, then try `attempts` borrows."""
    store = Store.from_url(url)
    start.wait(timeout=60)
    outcome = {"granted": [], "refused": 0, "errors": []}
    for attempt in range(attempts):
        try:
            outcome["granted"].append(store.borrow(TOOL, f"{name}-{attempt}", team="race"))
        except Exhausted:
            outcome["refused"] += 1
        except Exception as exc:  # reported to the parent, which fails the test with it
            outcome["errors"].append(repr(exc))
    results.put(outcome)


def test_processes_grant_exactly_the_seats(database_url):
    """Four processes, each with its own connections, borrow 2x the capacity in total."""
    store = seeded_store(database_url)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes, attempts = 4, CAPACITY // 2
    children = [context.Process(target=borrow_in_process,
                                args=(database_url, f"proc-{i}", attempts, start, results))
                for i in range(processes)]
    for child in children:
        child.start()
    # Let every child import and connect before the race starts.
    time.sleep(1.5)
    start.set()
    outcomes = [results.get(timeout=90) for _ in children]
    for child in children:
        child.join(timeout=30)
    errors = [error for outcome in outcomes for error in outcome["errors"]]
    assert not errors, errors[:5]
    granted = [seat for outcome in outcomes for seat in outcome["granted"]]
    assert sum(outcome["refused"] for outcome in outcomes) == processes * attempts - CAPACITY
    check_final_state(store, granted)


def metric_values(base_url: str) -> dict[tuple, float]:
    """Samples of /metrics keyed by (name, sorted label items)."""
    text = requests.get(base_url + "/metrics", timeout=10).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_gunicorn_workers_grant_exactly_the_seats(backend, server_factory, request):
    """Many HTTP clients against three gunicorn workers: the rule holds, counters add up."""
    env = {}
    if backend == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("pg_cluster").new_database()
    server = server_factory(env=env, workers=3)
    clients = 2 * CAPACITY
    sessions = threading.local()

    def borrow(index: int) -> requests.Response:
        session = getattr(sessions, "session", None) or requests.Session()
        sessions.session = session
        return session.post(server.url + "/api/borrow", timeout=30,
                            json={"tool": TOOL, "user": f"http-{index}", "team": "race"})

    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = list(pool.map(borrow, range(clients)))
    unexpected = [(a.status_code, a.text) for a in answers if a.status_code not in (201, 409)]
    assert not unexpected, unexpected[:5]
    granted = [a.json() for a in answers if a.status_code == 201]
    assert all(a.json()["error"] == "exhausted" for a in answers if a.status_code == 409)
    assert len(granted) == CAPACITY
    assert sum(1 for seat in granted if seat["overage"]) == MAX_OVERAGE

    tool = requests.get(f"{server.url}/api/tools/{TOOL}", timeout=10).json()
    assert (tool["in_use"], tool["overage_in_use"], tool["available"]) == (CAPACITY, MAX_OVERAGE, 0)

    # Every worker's counters are summed in one scrape.
    values = metric_values(server.url)
    label = (("tool", TOOL),)
    assert values[("license_borrow_success_total", label)] == CAPACITY
    assert values[("license_overage_checkouts_total", label)] == MAX_OVERAGE
    assert values[("license_overage_cost_dollars_total", label)] == \
        pytest.approx(MAX_OVERAGE * float(SPEC["overage_cost"]))
    assert values[("license_borrow_failures_total",
                   (("reason", "exhausted"), ("tool", TOOL)))] == clients - CAPACITY
    assert values[("licenses_in_use", label)] == CAPACITY
    assert values[("licenses_available", label)] == 0

    def give_back(seat: dict) -> int:
        return requests.post(server.url + "/api/return", json={"id": seat["id"]},
                             timeout=30).status_code

    # Returning every seat twice at once frees each seat exactly once.
    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(give_back, granted + granted))
    assert sorted(statuses) == [200] * CAPACITY + [409] * CAPACITY
    assert requests.get(f"{server.url}/api/tools/{TOOL}", timeout=10).json()["in_use"] == 0
    assert metric_values(server.url)[("license_returns_total", label)] == CAPACITY
