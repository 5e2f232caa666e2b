"""Fixtures shared by every test folder: a real license server process on loopback, one Chromium."""
from __future__ import annotations

import shutil

import pytest

from license_demo.browser import CHROMIUM, CHROMIUM_ARGS
from support.processes import start_license_server

ADMIN_TOKEN = "test-admin-token"
WEBHOOK_TOKEN = "test-webhook-token"


@pytest.fixture(scope="session")
def admin_token() -> str:
    """The admin token every server started by the tests is configured with."""
    return ADMIN_TOKEN


@pytest.fixture(scope="session")
def webhook_token() -> str:
    """The ALERT_WEBHOOK_TOKEN of every server started by server_factory."""
    return WEBHOOK_TOKEN


@pytest.fixture()
def server_factory(tmp_path_factory):
    """Start fresh license server processes (gunicorn, SQLite) and stop them afterwards."""
    started = []

    def start(env: dict | None = None, workers: int = 2):
        data_dir = tmp_path_factory.mktemp("server")
        server = start_license_server(
            data_dir, env={"ADMIN_TOKEN": ADMIN_TOKEN, "ALERT_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
                           **(env or {})}, workers=workers)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def native_stack(tmp_path_factory):
    """One native stack for the whole session: license server, Prometheus, Alertmanager.

    Started on free loopback ports with the demo profile (2 s scrape and evaluation,
    demo rules, 2 s group_wait), the server on SQLite with ADMIN_TOKEN `test-admin-token`;
    started on first use and stopped at the end of the session. It yields a
    `license_demo.stack.stack.Stack`, whose stable interface is:

    - `server_url`, `prometheus_url`, `alertmanager_url`: `http://127.0.0.1:<port>`;
    - `admin_token`; `webhook_token` (the server's ALERT_WEBHOOK_TOKEN, which Alertmanager
      sends); `data_dir` (each process logs to `<data_dir>/<name>.log`);
    - `query(expr)`: an instant PromQL query, returns the result vector;
    - `alerts_received(status=None)`: `GET /api/alerts[?status=...]` on the server, i.e.
      what Alertmanager's webhook delivered;
    - `wait_for_webhook(alertname, status="firing", timeout=90, labels=None, since=None)`:
      waits until the webhook record holds that alert (labels matching, received at or
      after the epoch time `since`) and returns it;
    - `admin(method, path, json=None)`: an admin call with the token (raises on errors);
    - `reset()`: `POST /api/reset`.

    The stack is shared: a test that changes tools or borrows calls `reset()` first and
    expects alerts from earlier tests to be resolving.
    """
    from license_demo.stack.stack import Stack, StackSettings

    settings = StackSettings(data_dir=tmp_path_factory.mktemp("native-stack"),
                             admin_token=ADMIN_TOKEN, profile="demo")
    stack = Stack(settings).start(timeout=60)
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL 15 cluster for the session (tests/support/pg_cluster.py); `.new_database()`."""
    from support.pg_cluster import start_cluster
    yield from start_cluster()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright, one per session.

    Playwright's sync API allows a single instance per thread, so every folder shares this one.
    """
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(scripts/install-system-deps.sh does it)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


def pytest_collection_modifyitems(items):
    """Files that use the native stack (or start one from the README's commands, tests/readme)
    first, the journeys and the rehearsal (tests/journeys, minutes each) leading, each group in
    its usual order; then the others.

    `make test` runs three pytest-xdist workers, each taking whole files in this order
    (`--dist loadfile --no-loadscope-reorder`) and starting its own native stack at its first
    stack test. The stack files mostly wait for scrapes, alerts and load runs; started first,
    the shorter CPU-bound files fill in around them and the workers finish at about the same time.
    """
    stack_files = {item.path for item in items if "native_stack" in getattr(item, "fixturenames", ())
                   or "readme" in item.path.parts}
    items.sort(key=lambda item: (item.path not in stack_files, "journeys" not in item.path.parts))


@pytest.fixture(scope="session", autouse=True)
def stress_reports_in_a_temporary_folder(tmp_path_factory):
    """Stress-test runs started by any test write their Locust reports here, not into the repository."""
    import os
    folder = tmp_path_factory.mktemp("stress-reports")
    previous = os.environ.get("STRESS_REPORT_DIR")
    os.environ["STRESS_REPORT_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("STRESS_REPORT_DIR", None)
    else:
        os.environ["STRESS_REPORT_DIR"] = previous
