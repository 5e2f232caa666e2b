"""The question's tool stays in focus, and the people the facts name are people of that tool.

On the native stack with the baseline load running: DaVinci Configurator SE in overage, CANoe
in more overage (its alert firing), and lena, an engineer of another team, holding more seats
than anyone but only of MATLAB/Simulink. Asked about DaVinci, the investigator must keep
DaVinci (tool, hypotheses, raise-commit) and name nobody who has nothing to do with it.
"""
from __future__ import annotations

import json

import pytest
import requests

from investigator_helpers import DAVINCI, cli_env, fact, fresh, incident, investigate, wait_prom
from license_demo.stack.baseline import BaselineLoad

pytestmark = pytest.mark.stack

CANOE, MATLAB = "Vector - CANoe", "MathWorks - MATLAB/Simulink"
# DaVinci: commit 5, 8 seats taken (3 overage). CANoe: commit 10, 16 seats (6 overage).
DAVINCI_HOLDERS, DAVINCI_TEAM = ["ben", "clara", "niklas", "emma"], "body-electronics"
CANOE_HOLDERS, CANOE_TEAM = ["anna", "jonas", "lukas", "marie", "felix", "sofia", "tobias", "noah"], "powertrain"
# lena (team adas) holds 4 MATLAB seats: more than anyone else, none of DaVinci.
OUTSIDER, OUTSIDER_TEAM, OUTSIDER_SEATS = "lena", "adas", 4


def take(stack, tool: str, users: list[str], team: str, each: int) -> None:
    """`each` seats of `tool` for every user of `users`."""
    for user in users:
        for _ in range(each):
            response = requests.post(f"{stack.server_url}/api/borrow", timeout=10,
                                     json={"tool": tool, "user": user, "team": team})
            assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def davinci_question(native_stack, tmp_path_factory):
    """The situation above, investigated once as `overage spike on DaVinci Configurator SE`."""
    stack = native_stack
    fresh(stack)
    baseline = BaselineLoad(stack.server_url).start()
    try:
        take(stack, DAVINCI, DAVINCI_HOLDERS, DAVINCI_TEAM, 2)
        take(stack, CANOE, CANOE_HOLDERS, CANOE_TEAM, 2)
        take(stack, MATLAB, [OUTSIDER], OUTSIDER_TEAM, OUTSIDER_SEATS)
        wait_prom(stack, f'sum(licenses_held_by_user{{user="{OUTSIDER}"}})', lambda v: v and v >= OUTSIDER_SEATS)
        # CANoe's overage is the larger, and its alert fires.
        wait_prom(stack, f'ALERTS{{alertname="HighOverageRate",tool="{CANOE}",alertstate="firing"}}',
                  lambda v: v == 1, timeout=60)
        env = cli_env(stack, tmp_path_factory.mktemp("focus") / "audit.jsonl")
        code, result, err = investigate(env, "overage spike on DaVinci Configurator SE")
    finally:
        baseline.stop()
    assert code == 0, err
    yield result
    # Every seat back, so the alerts of this situation resolve before the next file's.
    stack.reset()


def test_a_question_naming_davinci_keeps_davinci_while_canoe_shows_more_overage(native_stack, davinci_question):
    result = davinci_question
    overage = {r["tool"]: r["value"] for r in fact(result, "overage_window")["value"]}
    assert overage[CANOE] > overage[DAVINCI] > 0, overage
    assert result["tool"] == DAVINCI
    assert result["alert"] in (None, "HighOverageRate")
    about_tools = {h["key"]: h["subject"].get("tool") for h in result["hypotheses"] if "tool" in h["subject"]}
    assert about_tools and set(about_tools.values()) == {DAVINCI}, result["hypotheses"]
    assert result["top_hypothesis"] == "build_job", result["hypotheses"]
    assert DAVINCI_TEAM in result["hypotheses"][0]["title"] and CANOE not in result["hypotheses"][0]["title"]
    raise_commit = next(a for a in result["actions"] if a["id"] == "raise-commit")
    assert raise_commit["request"]["path"] == f"/api/config/tools/{requests.utils.quote(DAVINCI, safe='')}"
    assert raise_commit["title"].startswith(f"Raise commit of {DAVINCI}: 5 → ")
    body = raise_commit["request"]["json"]
    assert body["commit"] > 5 and body["commit"] + body["max_overage"] == 20, body
    assert all(CANOE not in a["title"] + a["why"] for a in result["actions"]), result["actions"]
    assert incident(native_stack, result["incident_id"])["tool"] == DAVINCI


def test_people_facts_name_only_people_of_the_tool_in_focus(davinci_question):
    result = davinci_question
    # The engineer who holds the most seats, all of another tool, is named nowhere.
    text = json.dumps([result["evidence"]["facts"], result["hypotheses"], result["actions"]])
    assert OUTSIDER not in text, [f["label"] for f in result["evidence"]["facts"] if OUTSIDER in json.dumps(f)]
    top = fact(result, "top_holders")
    assert DAVINCI in top["label"] and {r["user"] for r in top["value"]} >= set(DAVINCI_HOLDERS), top
    # The user weighed for hoarding holds DaVinci seats; the facts about that user say why it is them.
    held = fact(result, "holder_tools")
    assert DAVINCI in held["value"], held
    assert f"the most seats of {DAVINCI}" in fact(result, "holder_seats")["label"]
    hoarding = next(h for h in result["hypotheses"] if h["key"] == "hoarding")
    assert hoarding["subject"]["user"] in {r["user"] for r in top["value"]}
