"""The cloud stage on loopback: the real license server as the Fly app (metrics on their own port,
logs pushed to a Loki peer), a real Prometheus scraping it as the scraper would, and peers for
Grafana Cloud's Mimir and Grafana (cloud_peers.py)."""
from __future__ import annotations

import time
import tomllib

import pytest

from cloud_peers import GrafanaCloudPeer, MimirPeer
from cloud_stage import (ADMIN_TOKEN, GRAFANA_TOKEN, LOKI_TOKEN, LOKI_USER, PROM_TOKEN, PROM_USER, REPO,
                         WEBHOOK_TOKEN, start_prometheus)
from license_demo.clients import PrometheusClient
from license_demo.cloud.settings import OPTIONAL, REQUIRED
from support.loopback_peers import LokiPeer
from support.processes import free_port, start_license_server

@pytest.fixture(scope="session")
def loki():
    """Grafana Cloud's Loki: basic auth, the push and query APIs."""
    peer = LokiPeer(user=LOKI_USER, password=LOKI_TOKEN)
    yield peer
    peer.close()


@pytest.fixture(scope="session")
def app(tmp_path_factory, loki):
    """The license server as on Fly: /metrics only on METRICS_PORT (bound as fly.toml binds it), logs
    pushed to Loki."""
    metrics_port = free_port()
    fly_env = tomllib.loads((REPO / "fly.toml").read_text())["env"]
    server = start_license_server(tmp_path_factory.mktemp("fly-app"), workers=1, env={
        "ADMIN_TOKEN": ADMIN_TOKEN, "ALERT_WEBHOOK_TOKEN": WEBHOOK_TOKEN, "METRICS_PORT": str(metrics_port),
        "METRICS_HOST": fly_env["METRICS_HOST"],
        "LOKI_URL": loki.url, "LOKI_USER": LOKI_USER, "LOKI_PASSWORD": LOKI_TOKEN})
    server.extra["metrics"] = f"127.0.0.1:{metrics_port}"
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scraping_prometheus(tmp_path_factory, app):
    """What the scraper fills: a Prometheus holding the app's series."""
    process = start_prometheus(tmp_path_factory.mktemp("prometheus"), app.extra["metrics"])
    deadline = time.monotonic() + 20
    while not PrometheusClient(process.url, auth=None).query("licenses_in_use"):
        assert time.monotonic() < deadline, "Prometheus did not scrape the app within 20 s"
        time.sleep(0.2)
    yield process
    process.stop()


@pytest.fixture()
def mimir(tmp_path, scraping_prometheus):
    """A fresh Grafana Cloud Prometheus and Alertmanager (nothing stored yet)."""
    peer = MimirPeer(PROM_USER, PROM_TOKEN, scraping_prometheus.url, tmp_path)
    yield peer
    peer.close()


@pytest.fixture()
def grafana(mimir, loki):
    """A fresh Grafana stack with Grafana Cloud's usual datasources (several per type)."""
    datasources = [
        {"uid": "grafanacloud-prom", "name": "grafanacloud-demo-prom", "type": "prometheus",
         "url": mimir.url + "/api/prom"},
        {"uid": "grafanacloud-usage", "name": "grafanacloud-usage", "type": "prometheus",
         "url": "https://prometheus-us-central1.grafana.net/api/prom"},
        {"uid": "grafanacloud-logs", "name": "grafanacloud-demo-logs", "type": "loki", "url": loki.url},
        {"uid": "grafanacloud-alert-state-history", "name": "grafanacloud-demo-alert-state-history",
         "type": "loki", "url": "https://logs-prod-eu-west-0.grafana.net"},
        {"uid": "grafanacloud-demo-alertmanager", "name": "grafanacloud-demo-alertmanager",
         "type": "alertmanager", "url": mimir.url + "/alertmanager"}]
    peer = GrafanaCloudPeer(GRAFANA_TOKEN, datasources)
    yield peer
    peer.close()


@pytest.fixture()
def settings_file(tmp_path, monkeypatch, app, mimir, grafana, loki):
    """The settings as a user writes them, in a file; nothing of them in the environment."""
    for name in (*REQUIRED, *OPTIONAL, "PROMETHEUS_USER", "PROMETHEUS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    values = {"FLY_APP_URL": app.url, "ADMIN_TOKEN": ADMIN_TOKEN, "ALERT_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
              "PROMETHEUS_URL": mimir.url + "/api/prom", "PROMETHEUS_USER": PROM_USER,
              "PROMETHEUS_PASSWORD": PROM_TOKEN, "ALERTMANAGER_URL": mimir.url + "/alertmanager",
              "GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": GRAFANA_TOKEN,
              "LOKI_URL": loki.url, "LOKI_USER": LOKI_USER, "LOKI_PASSWORD": LOKI_TOKEN}
    path = tmp_path / "cloud.env"

    def write(**changes):
        path.write_text("".join(f"{k}={v}\n" for k, v in {**values, **changes}.items()))
        return str(path)

    write.values = values
    return write
