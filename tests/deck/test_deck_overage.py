"""The overage journey's backup deck, recorded by the real command and opened offline in Chromium."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from license_demo import alert_wait
from license_demo.clients import AlertmanagerClient, PrometheusClient, ServerClient
from license_demo.scenarios.journeys import SCENARIOS

pytestmark = [pytest.mark.stack, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded(native_stack, tmp_path_factory):
    """`license-demo scenario overage-crisis --mode auto --record DIR` on the shared stack."""
    native_stack.reset()
    for fault in native_stack.admin("GET", "/api/faults").json():
        if fault["variant"] != "off":
            native_stack.admin("PUT", f"/api/faults/{fault['name']}", {"variant": "off"})
    alert_wait.ensure_quiet(ServerClient(native_stack.server_url), AlertmanagerClient(native_stack.alertmanager_url),
                            PrometheusClient(native_stack.prometheus_url), ["HighOverageRate"], 150,
                            out=lambda line: None)
    folder = tmp_path_factory.mktemp("deck")
    done = subprocess.run(
        [sys.executable, "-m", "license_demo.cli", "scenario", "overage-crisis", "--mode", "auto",
         "--server", native_stack.server_url, "--admin-token", native_stack.admin_token,
         "--prometheus", native_stack.prometheus_url, "--alertmanager", native_stack.alertmanager_url,
         "--report-dir", str(folder / "reports"), "--record", str(folder / "deck"), "--alert-timeout", "120"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    yield done, folder
    native_stack.reset()


def test_the_deck_opens_offline_with_one_image_per_act_and_the_runs_numbers(recorded, browser):
    done, folder = recorded
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    deck = folder / "deck" / "deck.html"
    assert f"backup deck: {deck} (6 screenshots)" in done.stdout
    run = json.loads(next((folder / "reports").glob("overage-crisis-*.json")).read_text())

    context = browser.new_context()
    asked = []
    # No network: every request that is not the file itself is refused (and remembered).
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                  else (asked.append(route.request.url), route.abort()))
    page = context.new_page()
    try:
        page.goto(deck.as_uri())
        acts = page.locator("section.act")
        assert acts.count() == len(SCENARIOS["overage-crisis"].acts) == 6
        for i in range(6):
            images = acts.nth(i).locator("img")
            assert images.count() == 1
            assert images.first.get_attribute("src").startswith("data:image/png;base64,")
            assert images.first.evaluate("img => img.complete && img.naturalWidth") == 1280
        assert [acts.nth(i).get_attribute("data-act") for i in range(6)] == [a["act"] for a in run["acts"]]
        # The measured numbers of this run, as its report holds them.
        for key, value in run["measurements"].items():
            shown = page.locator(f'tr[data-measurement="{key}"] td.value').inner_text()
            if isinstance(value, bool):
                assert shown == ("yes" if value else "no"), key
            else:
                assert (float(shown) == value) if isinstance(value, (int, float)) else shown == str(value), key
        cloud = page.locator("#comparison td.cloud").all_inner_texts()
        assert cloud == [row["cloud"] for row in run["comparison"]]
        assert "OTA" in page.locator("#comparison").inner_text()
        assert page.locator("#pacing tr").count() == 7
    finally:
        context.close()
    assert asked == []
