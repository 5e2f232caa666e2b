"""Pure parts of the investigator: durations and plurals, the tool a symptom points to, the log selector."""
from __future__ import annotations

import pytest

from license_demo.investigate.facts import loki_lines
from license_demo.investigate.evidence import Evidence, Settings
from license_demo.investigate.facts.usage import choose_tool
from license_demo.investigate.gathered import (Changes, Failures, Holder, ToolFocus, ToolSeats, ToolUsage,
                                               VersionChange)
from license_demo.investigate.subject import Subject
from license_demo.investigate.wording import duration, ordinal, plural

DAVINCI, CANOE, INCA = "Vector - DaVinci Configurator SE", "Vector - CANoe", "ETAS - INCA"


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (45, "45 s"), (119, "119 s"), (240, "4 min"),
                                           (4800, "80 min"), (5400, "1 h 30 min"), (28800, "8 h"), (None, "unknown")])
def test_durations_read_as_durations(seconds, text):
    assert duration(seconds) == text


@pytest.mark.parametrize("count, one, many, text", [(1, "seat", None, "1 seat"), (3, "seat", None, "3 seats"),
                                                    (0, "seat", None, "0 seats"), (1.5, "seat", None, "1.5 seats"),
                                                    (2, "expiry", "expiries", "2 expiries"),
                                                    (1, "expiry", "expiries", "1 expiry")])
def test_plurals_agree(count, one, many, text):
    assert plural(count, one, many) == text


@pytest.mark.parametrize("n, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (95, "95th"), (87.5, "87.5th")])
def test_ordinals(n, text):
    assert ordinal(n) == text


def evidence(symptom: str | None, now: dict, overage_window: dict | None = None, failures: list | None = None,
             user: str | None = None) -> Evidence:
    """Evidence with only what choose_tool reads."""
    ev = Evidence(at=0, settings=Settings(), subject=Subject(text="something", symptom=symptom, user=user))
    ev.usage = ToolUsage(now={t: ToolSeats(**v) for t, v in now.items()}, overage_window=overage_window or {})
    ev.failures = Failures(window=failures or [])
    ev.alert = None
    return ev


def test_a_subject_without_a_tool_resolves_to_the_tools_showing_the_symptom():
    now = {DAVINCI: {"overage": 3, "available": 5, "commit": 5, "max_overage": 15},
           CANOE: {"overage": 7, "available": 0, "commit": 10, "max_overage": 0},
           INCA: {"overage": 0, "available": 4, "commit": 4, "max_overage": 2}}
    ev = evidence("overage", now)
    assert choose_tool(ev) == ToolFocus(CANOE, [CANOE, DAVINCI]) and "show 'overage'" in ev.notes[0]
    # The operator picked DaVinci at the terminal.
    assert choose_tool(evidence("overage", now), picked=DAVINCI).tool == DAVINCI
    assert choose_tool(evidence("no seats left", now)).tool == CANOE
    failing = [{"tool": INCA, "reason": "server_error", "value": 4},
               {"tool": DAVINCI, "reason": "exhausted", "value": 9}]
    assert choose_tool(evidence("borrows failing", now, failures=failing)).tool == INCA
    # Nothing shows the symptom: no tool, so nothing is blamed on one.
    quiet = {t: {**v, "overage": 0, "available": 1} for t, v in now.items()}
    assert choose_tool(evidence("overage", quiet)).tool is None
    # A user in the subject: the investigation is about the user, not the busiest tool.
    assert choose_tool(evidence("overage", now, user="anna")).tool is None


def log_evidence(tool: str | None, overage: float, change: bool, user: str | None = None,
                 holder: str | None = None) -> Evidence:
    """Evidence with only what the log selector reads."""
    ev = Evidence(at=0, settings=Settings(), subject=Subject(text="something", user=user))
    ev.usage = ToolUsage(now={tool: ToolSeats(overage=overage)} if tool else {})
    ev.focus = ToolFocus(tool)
    ev.changes = Changes(change=VersionChange("deploy", "1.1.0") if change else None, failures_after=13)
    ev.holder = Holder(user=holder)
    return ev


def test_log_selector_reads_the_subjects_tool_first():
    # An overage question about DaVinci reads DaVinci's overage borrows, not another tool's server errors.
    assert loki_lines.selector(log_evidence(DAVINCI, 15, True, holder="ben")) == \
        f'{{app="license-server"}} | json | event="borrow" | tool="{DAVINCI}" | overage="true"'
    calm = log_evidence(DAVINCI, 0, True, holder="ben")
    assert loki_lines.selector(calm) == (f'{{app="license-server"}} | json | event="borrow_rejected" | reason="server_error"'
                                         f' | tool="{DAVINCI}"')
    assert loki_lines.selector(log_evidence(None, 0, False, user="ben", holder="ann")) == \
        '{app="license-server"} | json | event="borrow" | user="ben"'
    assert loki_lines.selector(log_evidence(None, 0, False)) is None


def test_log_selector_quotes_any_tool_name():
    """A tool name with quotes, a backslash, brackets and dots stays one LogQL string that the Loki
    double parses and matches against that tool's lines only."""
    import json

    from support import logql_subset

    odd = 'MATLAB/Simulink (R2024b) v1.2 "beta" C:\\tools'
    query = loki_lines.selector(log_evidence(odd, 2, False))
    entries = [({"app": "license-server"}, json.dumps({"event": "borrow", "tool": tool, "overage": True}))
               for tool in (odd, DAVINCI, odd.replace('"', ""))]
    assert [k["tool"] for k in logql_subset.run(logql_subset.parse(query), entries)] == [odd]
