"""Preflight's Grafana, Loki and clock checks against loopback peers speaking their documented APIs."""
from __future__ import annotations

import pytest

from preflight_helpers import failed, preflight, targets_for
from license_demo.preflight import PASS
from license_demo.preflight.grafana_checks import dashboards, provisioned_datasource_uids
from support.loopback_peers import GrafanaPeer, LokiPeer

pytestmark = pytest.mark.stack
TOKEN = "glsa_preflight"
# Only the server besides the peer under test: the rest is proven in the other files.
PEER_ONLY = {"prometheus": "", "alertmanager": "", "stress_test": False}


@pytest.fixture()
def grafana():
    """A Grafana with the provisioned datasources healthy and the three dashboards."""
    peer = GrafanaPeer(TOKEN, {uid: None for uid in provisioned_datasource_uids()}, dict(dashboards()))
    yield peer
    peer.close()


@pytest.fixture()
def loki():
    """A Loki that wants basic auth, as Grafana Cloud's does."""
    peer = LokiPeer(user="123456", password="glc_secret")
    yield peer
    peer.close()


def test_grafana_and_loki_pass_and_their_tabs_are_listed(quiet_stack, grafana, loki):
    report, text = preflight(targets_for(quiet_stack, grafana=grafana.url, grafana_token=TOKEN, loki=loki.url,
                                         loki_user="123456", loki_password="glc_secret", **PEER_ONLY))
    assert failed(report) == {}, text
    marks = {line.key: line.mark for line in report.lines}
    for key in ["grafana.health", "loki.roundtrip", "clock.grafana", "clock.loki",
                *(f"grafana.datasource.{uid}" for uid in ("prometheus", "loki", "alertmanager")),
                *(f"grafana.dashboard.{uid}" for uid in ("license-business-metrics", "license-server-operations",
                                                         "license-capacity-planning"))]:
        assert marks[key] == PASS, text
    # The probe went in as the server pushes: its stream labels, a JSON line marked synthetic.
    (entry,) = loki.entries
    assert entry.stream == {"app": "license-server", "level": "info", "event": "other"}
    assert '"synthetic": true' in entry.line
    assert f"{grafana.url}/d/license-business-metrics" in text and f"{grafana.url}/explore" in text


def test_a_missing_dashboard_and_a_broken_datasource_fail_their_lines(quiet_stack):
    datasources = {uid: None for uid in provisioned_datasource_uids()}
    datasources["loki"] = "Unable to connect with Loki. Please check the server logs for more details."
    boards = {uid: title for uid, title in dashboards().items() if uid != "license-capacity-planning"}
    peer = GrafanaPeer(TOKEN, datasources, boards)
    try:
        report, text = preflight(targets_for(quiet_stack, grafana=peer.url, grafana_token=TOKEN, **PEER_ONLY))
    finally:
        peer.close()
    fixes = failed(report)
    assert set(fixes) == {"grafana.datasource.loki", "grafana.dashboard.license-capacity-planning"}, text
    assert "Unable to connect with Loki" in text
    assert "license-capacity-planning.json" in fixes["grafana.dashboard.license-capacity-planning"]


def test_wrong_loki_credentials_fail_the_loki_line(quiet_stack, loki):
    report, text = preflight(targets_for(quiet_stack, loki=loki.url, loki_user="123456", loki_password="wrong",
                                         **PEER_ONLY))
    fixes = failed(report)
    assert list(fixes) == ["loki.roundtrip"], text
    assert "HTTP 401" in text and "LOKI_PASSWORD" in fixes["loki.roundtrip"]


def test_a_skewed_clock_fails_the_clock_line(quiet_stack, grafana):
    grafana.skew = 3.0
    report, text = preflight(targets_for(quiet_stack, grafana=grafana.url, grafana_token=TOKEN, **PEER_ONLY))
    fixes = failed(report)
    assert list(fixes) == ["clock.grafana"], text
    assert "clock of Grafana is +" in text and "NTP" in fixes["clock.grafana"]
