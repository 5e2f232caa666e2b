"""`license-demo preflight --cloud` on the loopback cloud stage: all ✓, then each breakage exactly its own ✗."""
from __future__ import annotations

import pytest

from cloud_stage import PROM_TOKEN, PROM_USER, SECRETS, start_prometheus
from license_demo.cli import main
from license_demo.preflight import FAIL, PASS
from support.processes import free_port


@pytest.fixture()
def set_up(capsys, settings_file):
    """The stack as `license-demo cloud` leaves it."""
    assert main(["cloud", "--env-file", settings_file()]) == 0
    capsys.readouterr()
    return settings_file


def preflight(capsys, env_file: str) -> tuple[int, dict[str, str], str]:
    """Run `preflight --cloud`; exit code, key → mark of every line (fixes printed), the text."""
    from license_demo.preflight import cloud_checks
    lines = {}
    original = cloud_checks.Report._add

    def keep(report, line):
        lines[line.key] = line.mark
        return original(report, line)

    cloud_checks.Report._add = keep
    try:
        code = main(["preflight", "--cloud", "--no-stress-test", "--env-file", env_file])
    finally:
        cloud_checks.Report._add = original
    text = capsys.readouterr().out
    for secret in SECRETS:
        assert secret not in text
    return code, lines, text


def failed(lines: dict[str, str]) -> list[str]:
    """The keys of the ✗ lines."""
    return [key for key, mark in lines.items() if mark == FAIL]


def test_the_set_up_stage_passes_every_check(capsys, set_up, grafana):
    code, lines, text = preflight(capsys, set_up())
    assert code == 0 and failed(lines) == [], text
    for key in ("server.answers", "server.admin_token", "cloud.prometheus", "cloud.scrape", "cloud.rules",
                "cloud.firing", "cloud.alertmanager", "cloud.notification", "cloud.loki", "grafana.health",
                "cloud.grafana", "cloud.dashboard.license-business-metrics", "clock.server", "clock.grafana",
                "tab.License Business Metrics"):
        assert lines[key] == PASS, text
    assert "went through Grafana Cloud's Alertmanager to the app's webhook" in text
    assert "datasources grafanacloud-prom, grafanacloud-logs answer" in text
    assert f"{grafana.url}/d/license-business-metrics" in text and "Ready: all checks passed" in text


def test_a_wrong_prometheus_token_fails_its_line_only(capsys, set_up):
    env_file = set_up(PROMETHEUS_PASSWORD="glc_wrong", ALERTMANAGER_USER=PROM_USER, ALERTMANAGER_PASSWORD=PROM_TOKEN)
    code, lines, text = preflight(capsys, env_file)
    assert code == 1 and failed(lines) == ["cloud.prometheus"], text
    assert "refused the credentials (HTTP 401)" in text
    assert "fix: set PROMETHEUS_USER (the instance id) and PROMETHEUS_PASSWORD" in text
    assert "glc_wrong" not in text


def test_an_unreachable_loki_fails_its_line_only(capsys, set_up):
    code, lines, text = preflight(capsys, set_up(LOKI_URL=f"http://127.0.0.1:{free_port()}"))
    assert code == 1 and failed(lines) == ["cloud.loki"], text
    assert "unreachable (connection refused)" in text and "fix: set LOKI_URL to the stack's Loki URL" in text


def test_a_missing_scrape_fails_its_line_only(capsys, tmp_path, set_up, mimir):
    # A scraper pointed nowhere: Prometheus holds nothing of the app.
    empty = start_prometheus(tmp_path / "unscraped", f"127.0.0.1:{free_port()}")
    mimir.prometheus_url = empty.url
    try:
        code, lines, text = preflight(capsys, set_up())
    finally:
        empty.stop()
    assert code == 1 and failed(lines) == ["cloud.scrape"], text
    assert "holds no licenses_in_use series of job `license-server`" in text
    assert "fix: deploy the scraper" in text and "fly deploy cloud/scraper" in text
