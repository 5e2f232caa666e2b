"""Which pages the deck shoots per act: the server's page (logged in on /config) and Grafana with its token."""
from __future__ import annotations

import pytest

from license_demo.journeys import journey_runner
from license_demo.clients import ServerClient
from license_demo.deck import DeckRecorder
from license_demo.preflight.grafana_checks import dashboards
from support.loopback_peers import GrafanaPeer
from support.processes import free_port

pytestmark = [pytest.mark.stack, pytest.mark.browser]
TOKEN = "glsa_deck"


def _context(stack, grafana_url: str) -> journey_runner.JourneyContext:
    """A run's context on the shared stack with a Grafana URL."""
    return journey_runner.JourneyContext(server=ServerClient(stack.server_url, stack.admin_token), prometheus=None,
                          alertmanager=None, grafana=None, grafana_url=grafana_url, out=lambda line: None)


def test_config_is_shot_logged_in_and_grafana_with_its_token(native_stack, browser, tmp_path):
    grafana = GrafanaPeer(TOKEN, {}, dict(dashboards()))
    recorder = DeckRecorder(tmp_path, native_stack.server_url, native_stack.admin_token,
                            grafana_url=grafana.url, grafana_token=TOKEN, browser=browser)
    act = journey_runner.Act("fix", "Decision and fix", lambda ctx: None,
                     show=["{server}/config", "{grafana}/d/license-business-metrics"])
    try:
        recorder.on_act_end(_context(native_stack, grafana.url), 5, act)
        page = recorder._pages["server"]
        assert "Logged in as" in page.inner_text("body")
        assert recorder._pages["grafana"].inner_text("h1") == "/d/license-business-metrics"
    finally:
        recorder.close()
        grafana.close()
    assert [(s.label, s.url) for s in recorder.shots] == [
        ("server", f"{native_stack.server_url}/config"),
        ("grafana", f"{grafana.url}/d/license-business-metrics?kiosk")]
    assert all(s.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for s in recorder.shots)
    board = [r for r in grafana.requests if r["path"] == "/d/license-business-metrics"]
    assert board and board[0]["authorization"] == f"Bearer {TOKEN}" and "kiosk" in board[0]["params"]


def test_a_page_that_fails_is_noted_and_the_act_goes_on(native_stack, browser, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    recorder = DeckRecorder(tmp_path, native_stack.server_url, native_stack.admin_token,
                            grafana_url=dead, browser=browser)
    act = journey_runner.Act("problem", "The problem appears", lambda ctx: None,
                     show=["{server}/api/tools", "{grafana}/d/license-business-metrics"])
    try:
        recorder.on_act_end(_context(native_stack, dead), 2, act)
    finally:
        recorder.close()
    # No server page among the act's URLs: the dashboard stands in.
    assert [s.url for s in recorder.shots] == [f"{native_stack.server_url}/dashboard"]
    assert len(recorder.problems) == 1 and dead in recorder.problems[0]
