"""Guided mode: a pause before each act after the first, what to say and open, every act marked."""
from __future__ import annotations

import requests

from license_demo.journeys import journey_runner
from license_demo.clients import ServerClient


def test_guided_mode_pauses_prints_and_marks(server_factory, admin_token):
    """Two acts: one pause, talking points and URLs printed, both acts in /api/demo/marks."""
    server = server_factory()
    ran, prompts, lines = [], [], []
    journey = journey_runner.Journey(
        name="rehearsal-check", title="Rehearsal check", story="Two acts.",
        acts=[journey_runner.Act("first", "First act", lambda ctx: ran.append("first"),
                         say=["Say this first."], show=["{server}/dashboard"]),
              journey_runner.Act("second", "Second act", lambda ctx: ran.append("second"),
                         say=["Then this."], show=["{grafana}/d/x"], automotive="Months.")],
        phases=[])
    ctx = journey_runner.JourneyContext(server=ServerClient(server.url, admin_token), prometheus=None,
                         alertmanager=None, grafana=None, mode="guided", grafana_url="http://grafana:3000",
                         out=lines.append, pause=prompts.append)
    timeline = journey_runner.run(journey, ctx)
    assert ran == ["first", "second"]
    assert prompts == ["-- press Enter for act 2: Second act --"]
    text = "\n".join(lines)
    # No Grafana runs here: its page is replaced by the server's own dashboard.
    assert text.count(f"open: {server.url}/dashboard") == 2 and "grafana:3000" not in text
    assert "say:  Say this first." in text and "automotive: Months." in text
    assert [a["act"] for a in timeline.acts] == ["first", "second"]
    marks = requests.get(server.url + "/api/demo/marks", timeout=10).json()
    assert {(m["journey"], m["act"]) for m in marks} == {("rehearsal-check", "first"),
                                                          ("rehearsal-check", "second")}


def test_auto_mode_never_pauses(server_factory, admin_token):
    """Auto mode runs straight through and prints no talking points."""
    server = server_factory()
    prompts, lines = [], []
    journey = journey_runner.Journey(name="auto-check", title="Auto check", story="",
                                     acts=[journey_runner.Act(f"a{i}", f"Act {i}", lambda ctx: None, say=["x"])
                                           for i in range(3)], phases=[])
    ctx = journey_runner.JourneyContext(server=ServerClient(server.url, admin_token), prometheus=None,
                         alertmanager=None, grafana=None, mode="auto", out=lines.append,
                         pause=prompts.append)
    journey_runner.run(journey, ctx)
    assert prompts == [] and not any("say:" in line for line in lines)


def test_live_stress_lines_follow_the_run(server_factory):
    """With live=True the stress test's own lines (live line, summary) reach the output as it runs."""
    from license_demo.journeys import load

    server = server_factory()
    lines: list[str] = []
    summary = load.run_stress_test(server.url, "Vector - DaVinci Configurator SE", 42,
                                   mode="full-cycle", out=lines.append, ops=5, live=True)
    assert summary["granted"] == 100
    assert any(line.startswith("  | ") and " ops " in line and "granted" in line for line in lines)
    assert any(line.startswith("  | ") and "Summary:" in line for line in lines)
