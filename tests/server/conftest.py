"""Fixtures of the server tests: an app on a fresh temporary database and its client."""
from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from license_server import create_app, stop_background

ADMIN_TOKEN = "test-admin-token"
WEBHOOK_TOKEN = "test-webhook-token"
TOOL = "Vector - DaVinci Configurator SE"


@pytest.fixture()
def app_factory(tmp_path):
    """Build apps on a fresh SQLite file; the lease sweeper and incident checks are off unless
    asked for, and stopped after the test."""
    built = []

    def build(**overrides):
        config = {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'license.db'}",
                  "ADMIN_TOKEN": ADMIN_TOKEN, "ALERT_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
                  "LEASE_REAP_INTERVAL": 0, "INCIDENT_CHECK_INTERVAL": 0, **overrides}
        built.append(create_app(config))
        return built[-1]

    yield build
    for app in built:
        stop_background(app)


@pytest.fixture()
def app(app_factory):
    """The app with the admin token configured."""
    return app_factory()


@pytest.fixture()
def client(app):
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture()
def admin():
    """Headers of an admin request."""
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture()
def webhook():
    """Headers of Alertmanager's webhook calls."""
    return {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}


def parse_metrics(text: str) -> dict[tuple, float]:
    """Exposition text as {(name, sorted label items): value}."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture()
def scrape():
    """A function reading GET /metrics of a test client as {(name, labels): value}."""
    return lambda client: parse_metrics(client.get("/metrics").get_data(as_text=True))
