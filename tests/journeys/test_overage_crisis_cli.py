"""`license-demo journey overage-crisis --mode auto --record DIR`, as a presenter runs it on the
shared stack: its alert fires and resolves, the rerun stays under the threshold and costs less,
the server's incident closes with both durations, and the backup deck opens offline in Chromium."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from license_demo import alert_wait
from license_demo.clients import AlertmanagerClient, PrometheusClient, ServerClient
from license_demo.journeys.catalogue import JOURNEYS

pytestmark = [pytest.mark.stack, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[2]


DAVINCI = "Vector - DaVinci Configurator SE"


@pytest.fixture(scope="module")
def recorded(native_stack, tmp_path_factory):
    """One auto run with the guide's pace and 30 instead of 100 operations per worker (about 20 s
    a run), started from the fix a guided rehearsal leaves in place (commit 10, overage 10)."""
    native_stack.reset()
    for fault in native_stack.admin("GET", "/api/faults").json():
        if fault["variant"] != "off":
            native_stack.admin("PUT", f"/api/faults/{fault['name']}", {"variant": "off"})
    native_stack.admin("PUT", f"/api/config/tools/{DAVINCI}", {"commit": 10, "max_overage": 10})
    alert_wait.ensure_quiet(ServerClient(native_stack.server_url), AlertmanagerClient(native_stack.alertmanager_url),
                            PrometheusClient(native_stack.prometheus_url), ["HighOverageRate"], 150,
                            out=lambda line: None)
    folder = tmp_path_factory.mktemp("deck")
    done = subprocess.run(
        [sys.executable, "-m", "license_demo.cli", "journey", "overage-crisis", "--mode", "auto",
         "--server", native_stack.server_url, "--admin-token", native_stack.admin_token,
         "--prometheus", native_stack.prometheus_url, "--alertmanager", native_stack.alertmanager_url,
         "--report-dir", str(folder / "reports"), "--record", str(folder / "deck"), "--alert-timeout", "120",
         "--ops", "30"],
        cwd=REPO, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = json.loads(next((folder / "reports").glob("overage-crisis-*.json")).read_text())
    markdown = next((folder / "reports").glob("overage-crisis-*.md")).read_text()
    yield done, folder, run, markdown
    native_stack.reset()


def test_the_alert_fires_the_fix_resolves_it_and_the_rerun_costs_less(recorded, native_stack):
    """The report has every phase timed in order; the rerun stays under 30 % without the alert;
    the server's incident is resolved with its time to detect and to resolve in the report."""
    done, _, run, markdown = recorded
    assert run["complete"], run["phases"]
    assert all(phase["seconds"] is not None and phase["seconds"] >= 0 for phase in run["phases"]), run["phases"]
    assert [a["act"] for a in run["acts"]] == [a.key for a in JOURNEYS["overage-crisis"].acts]
    assert "Cloud DevOps vs automotive" in markdown and "not reached" not in markdown
    assert "back to commit 5, overage 15" in done.stdout
    m = run["measurements"]
    assert m["borrows_first_run"] == m["borrows_rerun"] == 600
    assert m["overage_share_before_fix"] > 0.3 > m["overage_share_after_fix"]
    assert m["overage_cost_rerun"] < m["overage_cost_first_run"]
    assert m["alert_during_rerun"] is False and m["top_team"] == "body-electronics"
    # The printed before/after is the run's own (read live, not from the script).
    assert f"{m['overage_share_before_fix']:.1%} → {m['overage_share_after_fix']:.1%}" in done.stdout
    assert 0 < m["incident_to_detect_seconds"] <= 30 and m["incident_to_resolve_seconds"] > 0, m
    assert "incident_resolved" in run["events"] and "incident to resolve seconds" in markdown, markdown
    resolved = [i for i in native_stack.admin("GET", "/api/incidents?status=resolved").json()
                if i["tool"] == DAVINCI]
    assert resolved and resolved[0]["durations"]["to_resolve_seconds"] == m["incident_to_resolve_seconds"]
    tool = native_stack.admin("GET", f"/api/tools/{DAVINCI}").json()
    assert (tool["commit"], tool["max_overage"]) == (10, 10)
    marks = native_stack.admin("GET", "/api/demo/marks").json()
    assert {mark["act"] for mark in marks if mark["journey"] == "overage-crisis"} >= {"problem", "fix"}
    assert native_stack.query('license_demo_act_timestamp_seconds{journey="overage-crisis",act="fix"}')


def test_the_deck_opens_offline_with_one_image_per_act_and_the_runs_numbers(recorded, browser):
    done, folder, run, _ = recorded
    deck = folder / "deck" / "deck.html"
    assert f"backup deck: {deck} (6 screenshots)" in done.stdout

    context = browser.new_context()
    asked = []
    # No network: every request that is not the file itself is refused (and remembered).
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                  else (asked.append(route.request.url), route.abort()))
    page = context.new_page()
    try:
        page.goto(deck.as_uri())
        acts = page.locator("section.act")
        assert acts.count() == len(JOURNEYS["overage-crisis"].acts) == 6
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
