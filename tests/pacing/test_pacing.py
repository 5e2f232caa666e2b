"""Pacing: the guide's minutes per part in guided mode, a warning when a part runs long, the report's table."""
from __future__ import annotations

import re
import time

from license_demo import pacing
from license_demo.journeys import journey_runner, timeline_report
from license_demo.clients import ServerClient
from license_demo.journeys.catalogue import JOURNEYS


def test_guided_mode_shows_the_plan_and_says_when_a_part_runs_long(native_stack):
    lines = []

    def talk_too_long(prompt):
        """The presenter talks past the part's planned time before pressing Enter."""
        time.sleep(1.5)

    journey = journey_runner.Journey(name="pacing-check", title="Pacing check", story="Three parts.",
                                     acts=[journey_runner.Act(key, key.title(), lambda ctx: None) for key in ("one", "two", "three")],
                                     phases=[])
    # Planned: 0.005 min (0.3 s) for the first part, a minute for the others.
    observer = pacing.PacingObserver(journey.name, 3, out=lines.append, plan=[0.005, 1, 1])
    ctx = journey_runner.JourneyContext(server=ServerClient(native_stack.server_url, native_stack.admin_token),
                         prometheus=None, alertmanager=None, grafana=None, mode="guided",
                         out=lines.append, pause=talk_too_long, observers=[observer])
    timeline = journey_runner.run(journey, ctx)
    observer.close()
    text = "\n".join(lines)
    assert "time: part 1 planned 0.005 min; 0:00 into the demo of 2.005 planned" in text
    assert "time: part 1 (One) is past its 0.005 planned minutes: move on" in text
    assert re.search(r"time: part 1 took 0:0[12] of 0.005 min planned: ran long by 0:0[12]", text), text
    assert re.search(r"time: part 2 took 0:0[12] of 1 min planned: 0:5[89] to spare", text), text
    assert "time: part 3 took 0:00 of 1 min planned: 1:00 to spare" in text
    # The warning came during the pause, before part 2 began.
    assert text.index("past its 0.005 planned") < text.index("[act 2/3]")
    assert len(timeline.acts) == 3


def test_the_report_compares_planned_and_actual_minutes():
    journey = JOURNEYS["overage-crisis"]
    timeline = journey_runner.Timeline(journey.name, "guided", 42)
    start = 1_800_000_000.0
    # Six parts of 150, 170, 60, 200, 100, 130 s; the last act ends 130 s after it starts.
    offsets = [0, 150, 320, 380, 580, 680]
    for act, offset in zip(journey.acts, offsets):
        timeline.acts.append({"act": act.key, "title": act.title, "started": start + offset,
                              "ended": start + offset + 20})
    timeline.acts[-1]["ended"] = start + 810
    rows = timeline_report.to_json(journey, timeline)["pacing"]
    assert [r["planned_seconds"] for r in rows] == [120, 180, 120, 180, 120, 120]
    assert [r["actual_seconds"] for r in rows] == [150, 170, 60, 200, 100, 130]
    assert [r["over_seconds"] for r in rows] == [30, -10, -60, 20, -20, 10]
    markdown = timeline_report.to_markdown(journey, timeline)
    assert "| 1. Normal operations | 2:00 | 2:30 | +0:30 long |" in markdown
    assert "| 3. Detection and alert | 2:00 | 1:00 | 1:00 to spare |" in markdown
    assert "| total | 14:00 | 13:30 | |" in markdown


def test_the_journey_command_paces_guided_runs_and_records_with_record(tmp_path):
    from license_demo.journeys import act_observers
    from license_demo import cli
    from license_demo.deck import DeckRecorder

    parser = cli.build_parser()
    ctx = journey_runner.JourneyContext(server=ServerClient("http://127.0.0.1:9", "t"), prometheus=None, alertmanager=None,
                         grafana=None)
    guided = parser.parse_args(["journey", "overage-crisis"])
    (observer,) = act_observers.build(guided, JOURNEYS["overage-crisis"], ctx)
    assert isinstance(observer, pacing.PacingObserver) and observer.plan == [2, 3, 2, 3, 2, 2]
    recorded = parser.parse_args(["journey", "overage-crisis", "--mode", "auto", "--record", str(tmp_path)])
    (observer,) = act_observers.build(recorded, JOURNEYS["overage-crisis"], ctx)
    assert isinstance(observer, DeckRecorder) and observer.directory == tmp_path

