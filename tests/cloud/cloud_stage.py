"""The cloud stage's fixed parts: the credentials the peers accept and a scraping Prometheus."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from support.processes import free_port, spawn, wait_http

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "cloud-admin-token"
WEBHOOK_TOKEN = "cloud-webhook-token-0123"
PROM_USER, PROM_TOKEN = "123456", "glc_prometheus_secret"
LOKI_USER, LOKI_TOKEN = "777777", "glc_loki_secret"
GRAFANA_TOKEN = "glsa_grafana_secret"
SECRETS = (ADMIN_TOKEN, WEBHOOK_TOKEN, PROM_TOKEN, LOKI_TOKEN, GRAFANA_TOKEN)


def start_prometheus(folder, scrape_target: str):
    """A real Prometheus scraping `scrape_target` as the job `license-server` every second."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"global": {"scrape_interval": "1s"},
              "scrape_configs": [{"job_name": "license-server", "metrics_path": "/metrics",
                                  "static_configs": [{"targets": [scrape_target]}]}]}
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = spawn("prometheus", [shutil.which("prometheus"), f"--config.file={folder / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={folder / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{port}"], folder / "prometheus.log")
    process.url = f"http://127.0.0.1:{port}"
    wait_http(process.url + "/-/ready", timeout=30, proc=process.proc)
    return process
