"""The timeline report: phases timed from the recorded moments, the comparison filled, gaps shown."""
from __future__ import annotations

import json

from license_demo.journeys import journey_runner, timeline_report
from license_demo.journeys.catalogue import JOURNEYS


def timeline_with(**moments) -> journey_runner.Timeline:
    """A timeline holding the given moments (seconds after a fixed start)."""
    timeline = journey_runner.Timeline("overage-crisis", "auto", 42)
    for name, offset in moments.items():
        timeline.record(name, 1_800_000_000 + offset, source="test")
    return timeline


def test_every_phase_timed_and_compared(tmp_path):
    """Elapsed times come from the moments; the cloud column carries them."""
    timeline = timeline_with(problem_started=0, alert_received=42, fix_applied=70,
                             alert_resolved=110, metrics_confirmed=150)
    journey = JOURNEYS["overage-crisis"]
    data = timeline_report.to_json(journey, timeline)
    assert [p["seconds"] for p in data["phases"]] == [42, 28, 40, 40]
    assert data["complete"] and data["total_seconds"] == 150
    assert data["comparison"][0]["cloud"] == "42 s" and "Hours" in data["comparison"][0]["automotive"]
    md_path, json_path = timeline_report.write(journey, timeline, tmp_path)
    assert "| detection | problem started | alert received | 42 s |" in md_path.read_text()
    assert "2 min 30 s" in md_path.read_text()
    assert json.loads(json_path.read_text())["phases"][3]["seconds"] == 40


def test_missing_moment_marks_the_report_incomplete():
    """A run that stopped before the fix says which phases were not reached."""
    timeline = timeline_with(problem_started=0, alert_received=42)
    data = timeline_report.to_json(JOURNEYS["overage-crisis"], timeline)
    assert not data["complete"]
    assert data["phases"][1]["seconds"] is None
    assert "not reached" in timeline_report.to_markdown(JOURNEYS["overage-crisis"], timeline)


def test_first_record_of_a_moment_wins():
    """Recording a moment twice keeps the first time (the alert was received once)."""
    timeline = timeline_with(problem_started=0)
    timeline.record("problem_started", 1_900_000_000)
    assert timeline.events["problem_started"]["at"] == 1_800_000_000
