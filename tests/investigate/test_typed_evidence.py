"""Typed evidence without a stack: sections set by their gatherers, read by the rules and actions.

The sections are what the gatherers would have set for the tool in focus (per tool below);
the focus itself is chosen by the real `alerts.focus_alert` and `usage.focus_tool`.
"""
from __future__ import annotations

import json

import pytest

from license_demo.clients import PrometheusClient, ServerClient
from license_demo.investigate import actions, gathered, hypotheses
from license_demo.investigate.evidence import Evidence, FactLog, MissingEvidence, Settings, Sources
from license_demo.investigate.facts import alerts, usage
from license_demo.investigate.gathered import (Alert, AlertsSeen, Borrowers, Changes, Demand, Failures, Holder,
                                               ScrapeHealth, ServerAnswer, TeamHold, ToolSeats, ToolUsage)
from license_demo.investigate.subject import parse

DAVINCI, DEVELOPER, CANOE = "Vector - DaVinci Configurator SE", "Vector - DaVinci Developer", "Vector - CANoe"
CATALOG = {DAVINCI: {"name": DAVINCI, "commit": 5, "max_overage": 15, "overage_cost": 150, "commit_cost_monthly": 600},
           DEVELOPER: {"name": DEVELOPER, "commit": 8, "max_overage": 6, "overage_cost": 120,
                       "commit_cost_monthly": 500},
           CANOE: {"name": CANOE, "commit": 10, "max_overage": 10, "overage_cost": 100, "commit_cost_monthly": 450}}
# Seats now: DaVinci 8 of commit 5, CANoe 16 of commit 10 (more overage, and its alert fires).
NOW = {DAVINCI: ToolSeats(in_use=8, commit=5, overage=3, max_overage=15, available=12),
       DEVELOPER: ToolSeats(in_use=2, commit=8, overage=0, max_overage=6, available=12),
       CANOE: ToolSeats(in_use=16, commit=10, overage=6, max_overage=10, available=4)}
CANOE_ALERT = Alert(labels={"alertname": "HighOverageRate", "severity": "warning", "tool": CANOE},
                    source="prometheus", active_at=100.0)


def borrowers(tool: str, team: str, users: list[str], seats: int) -> Borrowers:
    """One team's agents took `seats` seats of `tool` in the window, two each."""
    return Borrowers(tool=tool, by_user=[{"user": u, "team": team, "value": 2} for u in users],
                     by_team=[{"team": team, "value": seats}], top_team=team, top_team_share=1.0,
                     top_team_checkouts=seats, checkouts_total=seats, teams_over_20pct=1,
                     held_by_team={team: TeamHold(seats, seats - int(NOW[tool].commit))},
                     holders=[{"user": u, "team": team, "value": 2} for u in users])


def demand(tool: str, seats: int) -> Demand:
    """`seats` taken at once after a reset and held: 20 scrapes 2 s apart."""
    return Demand(tool=tool, coverage_seconds=40, busy_seconds=38, above_commit_fraction=0.95,
                  samples=[0.0] + [float(seats)] * 19, borrows=[0.0, float(seats)] + [0.0] * 18, step_seconds=2,
                  overage_threshold=0.3, alert_for_seconds=4, rate_window_seconds=30,
                  commit_cost_monthly=CATALOG[tool]["commit_cost_monthly"], overage_cost=CATALOG[tool]["overage_cost"])


# What borrower_facts, demand_facts and holder_facts measure for each tool in focus.
MEASURED = {
    DAVINCI: (borrowers(DAVINCI, "body-electronics", ["ben", "clara", "niklas", "emma"], 8), demand(DAVINCI, 8)),
    CANOE: (borrowers(CANOE, "powertrain", ["anna", "jonas", "lukas", "marie", "felix", "sofia", "tobias", "noah"],
                      16), demand(CANOE, 16)),
}


def investigate(text: str) -> Evidence:
    """Subject from `text`, the gatherers' sections up to the focus, the rest as measured for the focus."""
    ev = Evidence(at=1000.0, settings=Settings(window=40, baseline=0),
                  subject=parse(text, list(CATALOG), [], ["body-electronics", "powertrain"]))
    # No request leaves: focus_alert and focus_tool read only the evidence (no terminal to ask).
    col = FactLog(Sources(server=ServerClient("http://127.0.0.1:9"), prometheus=PrometheusClient("http://127.0.0.1:9")),
                  ev)
    ev.server, ev.scrape = ServerAnswer(True, CATALOG), ScrapeHealth(True, up=1.0)
    ev.alerts = AlertsSeen(firing=[CANOE_ALERT], fired=[CANOE_ALERT])
    alerts.focus_alert(col)
    ev.usage = ToolUsage(tools=CATALOG, now=NOW, borrows_window={DAVINCI: 8, CANOE: 16},
                         overage_window={DAVINCI: 3, CANOE: 6})
    ev.failures = Failures()
    usage.focus_tool(col)
    ev.borrowers, ev.demand = MEASURED[ev.tool] if ev.tool in MEASURED else (Borrowers(), Demand())
    top = ev.borrowers.holders[0] if ev.borrowers.holders else None
    ev.holder = Holder(top=ev.borrowers.holders, seats_in_use_total=26, seats_available_total=28,
                       user=top and top["user"], team=top and top["team"], seats=2, share=0.08,
                       tools=[ev.tool] if top else [])
    ev.changes = Changes()
    return ev


def test_a_question_naming_davinci_keeps_davinci_while_canoe_shows_more_overage():
    ev = investigate("overage spike on DaVinci Configurator SE")
    assert ev.subject.tool == DAVINCI and ev.tool == DAVINCI
    # CANoe's alert does not match the question: no alert in focus rather than another tool's.
    assert ev.alert is None
    ranked = hypotheses.rank(ev)
    assert ranked[0].key == "build_job" and ranked[0].subject == {"tool": DAVINCI, "team": "body-electronics"}
    assert {h.subject["tool"] for h in ranked if "tool" in h.subject} == {DAVINCI}
    proposed = actions.recommend(ev, ranked, actions.ActionContext("http://127.0.0.1:9", "'overage'", {}))
    raise_commit = next(a for a in proposed if a.id == "raise-commit")
    # 8 seats at a 30% threshold need commit 6; the total of 20 seats stays.
    assert raise_commit.request["json"] == {"commit": 6, "max_overage": 14}
    assert raise_commit.title == f"Raise commit of {DAVINCI}: 5 → 6 (overage 15 → 14)"
    assert raise_commit.cost["overage_checkouts_window"] == 3 and CANOE not in raise_commit.why


def test_without_a_tool_named_the_most_affected_is_chosen():
    """The counterpart: the symptom alone picks CANoe, from its alert."""
    ev = investigate("overage spike")
    assert ev.alert == CANOE_ALERT and ev.tool == CANOE


def test_a_rule_reading_a_fact_not_gathered_fails_at_once():
    ev = investigate("overage spike on DaVinci Configurator SE")
    del ev.sections["demand"]
    with pytest.raises(MissingEvidence, match=r"evidence.demand \(Demand\) was read before usage.demand_facts"):
        hypotheses.build_job(ev)
    with pytest.raises(AttributeError):
        ev.usage.overage_now  # noqa: B018 - a misspelt field is no silent default
    with pytest.raises(TypeError, match="evidence.usage must be a ToolUsage"):
        ev.usage = {"now": {}}


def test_every_section_serialises_to_json():
    ev = investigate("overage spike on DaVinci Configurator SE")
    ev.changes = Changes(change=gathered.VersionChange("deploy", "1.1.0", "b4dc0de", "1.0.0", at=990.0),
                         failures_after=4)
    ev.alert = CANOE_ALERT
    data = json.loads(json.dumps(ev.sections_to_dict()))
    assert list(data) == ["server", "scrape", "alerts", "alert", "usage", "failures", "focus", "borrowers",
                          "demand", "holder", "changes"]
    assert data["usage"]["now"][DAVINCI] == {"in_use": 8, "commit": 5, "overage": 3, "max_overage": 15,
                                             "available": 12}
    assert data["alert"]["labels"]["tool"] == CANOE and data["focus"]["tool"] == DAVINCI
    assert data["changes"]["change"]["version"] == "1.1.0"
    assert data["borrowers"]["held_by_team"] == {"body-electronics": {"seats": 8, "overage": 3}}
