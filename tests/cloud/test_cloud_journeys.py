"""The stress test and the journeys' reads on the cloud stage: `--target fly` reaches the app, the journey's
Prometheus and Alertmanager reads go to Grafana Cloud's endpoints with the stack's credentials."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloud_stage import PROM_TOKEN, PROM_USER
from license_demo import alert_wait
from license_demo.cli import main
from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient

REPO = Path(__file__).resolve().parents[2]


def test_the_stress_test_targets_the_fly_app(tmp_path, app):
    summary = tmp_path / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "stress_test", "--target", "fly", "--profile", "custom", "--workers", "1",
         "--ops", "2", "--mode", "full-cycle", "--tool", "MathWorks - MATLAB/Simulink", "--user-prefix", "cloud",
         "--yes", "--max-seconds", "30", "--summary", str(summary)],
        cwd=REPO, capture_output=True, text=True, timeout=90, env={**os.environ, "FLY_APP_URL": app.url})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Target: {app.url}" in done.stdout
    result = json.loads(summary.read_text())
    assert result["granted"] == 2 and result["still_held"] == 0


def test_the_journeys_read_grafana_cloud_with_the_stacks_credentials(capsys, monkeypatch, settings_file, app, mimir):
    assert main(["cloud", "--env-file", settings_file()]) == 0
    capsys.readouterr()
    prometheus_url, alertmanager_url = mimir.url + "/api/prom", mimir.url + "/alertmanager"
    # Without credentials Grafana Cloud refuses, and the error says where.
    with pytest.raises(DemoError, match="HTTP 401"):
        PrometheusClient(prometheus_url).query("licenses_in_use")
    # The journey builds its clients from URLs only: the credentials come from the environment.
    monkeypatch.setenv("PROMETHEUS_USER", PROM_USER)
    monkeypatch.setenv("PROMETHEUS_PASSWORD", PROM_TOKEN)
    prometheus, alertmanager = PrometheusClient(prometheus_url), AlertmanagerClient(alertmanager_url)
    assert PROM_TOKEN not in repr(prometheus) + repr(alertmanager)
    assert {row["metric"]["tool"] for row in prometheus.query('licenses_in_use{job="license-server"}')} >= {
        "Vector - DaVinci Configurator SE"}
    assert {rule["name"] for rule in prometheus.rules("alert")} >= {"HighOverageRate", "LicenseServerDown"}
    with pytest.raises(DemoError, match="HTTP 401"):
        AlertmanagerClient(alertmanager_url, auth=None).active()
    assert alertmanager.active() == []
    # What overage-crisis does before its first act: nothing pending or firing anywhere.
    server = ServerClient(app.url, "cloud-admin-token")
    alert_wait.ensure_quiet(server, alertmanager, prometheus, ["HighOverageRate"], timeout=5, out=print)
