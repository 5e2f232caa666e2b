"""`license-demo mcp` as a subprocess, driven by the MCP SDK's own client over stdio and streamable HTTP.

One guide's overage run (20 DaVinci seats taken by body-electronics, 15 of them overage) is set up
on the shared native stack; the tools must name that tool and team and nothing else, refuse bad
input as tool errors while serving on, and write only with --allow-write and an approver.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

from license_demo.agents.answers import MAX_ANSWER_CHARS
from license_demo.agents import mcp_client
from license_demo.agents.mcp_client import call, http_client, stdio_client
from stress_test.roster import TEAMS
from support.processes import free_port

pytestmark = pytest.mark.stack

DAVINCI = "Vector - DaVinci Configurator SE"
TEAM, AGENTS = "body-electronics", ["ben", "clara", "niklas", "emma", "paul"]
TOKEN = "mcp-test-token"
READ_TOOLS = {"catalog", "alerts", "seat_usage", "borrowers", "overage_logs", "changes", "incidents", "investigate",
              "promql"}


def _env(stack, audit) -> dict:
    """license-demo mcp pointed at the stack, with its audit log in the test's folder."""
    return {**os.environ, "LICENSE_SERVER_URL": stack.server_url, "PROMETHEUS_URL": stack.prometheus_url,
            "ALERTMANAGER_URL": stack.alertmanager_url, "ADMIN_TOKEN": stack.admin_token,
            "INVESTIGATOR_AUDIT_LOG": str(audit), "LOKI_URL": "", "MCP_TOKEN": TOKEN}


def _prom(stack, expr: str):
    """One value of an instant query, or None."""
    rows = stack.query(expr)
    return float(rows[0]["value"][1]) if rows else None


def _wait(stack, expr: str, predicate, timeout: float = 40) -> None:
    """Poll `expr` until `predicate(value)`."""
    deadline, value = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        value = _prom(stack, expr)
        if predicate(value):
            return
        time.sleep(0.5)
    raise AssertionError(f"{expr} stayed at {value}")


@pytest.fixture(scope="module")
def overage_run(native_stack):
    """The guide's Part 2: after a reset, five body-electronics agents take 20 DaVinci seats (commit 5)."""
    native_stack.reset()
    for i in range(20):
        response = requests.post(f"{native_stack.server_url}/api/borrow",
                                 json={"tool": DAVINCI, "user": AGENTS[i % 5], "team": TEAM}, timeout=10)
        assert response.status_code == 201, response.text
    _wait(native_stack, f'sum(licenses_overage{{tool="{DAVINCI}"}})', lambda v: v == 15)
    # The recording rule the overage share is read from, one evaluation later.
    _wait(native_stack, f'tool:license_overage_seats:ratio{{tool="{DAVINCI}"}}', lambda v: v == 0.75)
    _wait(native_stack, f'sum(license_checkouts_by_user_total{{tool="{DAVINCI}",team="{TEAM}"}})',
          lambda v: v is not None)
    return native_stack


@pytest.fixture()
def http_server(overage_run, tmp_path):
    """Start `license-demo mcp --http [extra]` on a free loopback port; yields (url, audit path, start)."""
    started = []

    def start(*extra: str) -> str:
        port = free_port()
        audit = tmp_path / f"audit-{port}.jsonl"
        log = (tmp_path / f"mcp-{port}.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "license_demo.cli", "mcp", "--http", "--port", str(port),
                                 *extra], env=_env(overage_run, audit), stdout=log, stderr=subprocess.STDOUT)
        started.append(proc)
        url = f"http://127.0.0.1:{port}/mcp"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).status_code == 401:
                    return url
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"license-demo mcp --http did not start: {(tmp_path / f'mcp-{port}.log').read_text()}")

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=15)


def _unrelated(text: str, catalog: list[str], teams: set[str]) -> list[str]:
    """Names of other tools and teams that appear in `text`."""
    return [t for t in catalog if t != DAVINCI and t in text] + [t for t in teams if t != TEAM and f'"{t}"' in text]


def test_stdio_lists_tools_with_schemas_and_names_only_the_overage_run(overage_run, tmp_path):
    async def session():
        async with stdio_client(_env(overage_run, tmp_path / "audit.jsonl")) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == READ_TOOLS | {"apply_action", "add_note"}
            assert tools["seat_usage"].input_schema["required"] == ["tool"]
            assert tools["seat_usage"].input_schema["properties"]["window_seconds"]["default"] == 600
            assert set(tools["apply_action"].input_schema["required"]) == {"incident_id", "action_id", "approver"}
            assert all(tools[n].annotations.read_only_hint for n in READ_TOOLS)
            assert tools["apply_action"].annotations.read_only_hint is False
            resources = {str(r.uri) for r in (await client.list_resources()).resources}
            assert "runbook://HighOverageRate" in resources
            prompt = await client.get_prompt("investigate_alert", {"alert": "HighOverageRate", "tool": DAVINCI})
            assert "seat_usage" in prompt.messages[0].content.text
            catalog = [t["name"] for t in (await call(client, "catalog")).data["tools"]]
            usage = await call(client, "seat_usage", tool=DAVINCI)
            people = await call(client, "borrowers", tool=DAVINCI)
            logs = await call(client, "overage_logs", tool=DAVINCI)
            return catalog, usage, people, logs

    catalog, usage, people, logs = mcp_client.run(session())
    assert DAVINCI in catalog and len(catalog) > 2
    assert not usage.is_error and usage.data["now"]["in_use"] == 20 and usage.data["now"]["overage_in_use"] == 15
    assert usage.data["overage_share_now"] == 0.75 and usage.data["window"]["overage_checkouts"] == 15
    assert DAVINCI in usage.summary and "15 overage" in usage.summary
    assert people.data["by_team"] == [{"team": TEAM, "value": 20.0}], people.data["by_team"]
    assert {r["user"] for r in people.data["by_user"]} == set(AGENTS)
    assert people.data["held_by_team"] == [{"team": TEAM, "seats": 20, "overage": 15}]
    assert f"team {TEAM} made 100%" in people.summary
    assert logs.data["source"] == "server" and logs.data["total"] == 15
    assert {(r["tool"], r["team"]) for r in logs.data["lines"]} == {(DAVINCI, TEAM)}
    teams = set(TEAMS)
    for answer in (usage, people, logs):
        text = json.dumps(answer.data)
        assert not _unrelated(text, catalog, teams), _unrelated(text, catalog, teams)
        assert answer.chars <= MAX_ANSWER_CHARS


def test_http_bad_inputs_are_tool_errors_and_the_server_keeps_serving(http_server):
    url = http_server("--allow-write")
    assert requests.post(url, json={}, timeout=5).status_code == 401
    wrong = [requests.post(url, json={}, headers={"Authorization": f"Bearer wrong{i}"}, timeout=5) for i in range(11)]
    assert [r.status_code for r in wrong] == [401] * 10 + [429], [r.status_code for r in wrong]
    assert wrong[0].json()["detail"].startswith("The MCP token is wrong") and "wait a minute" in wrong[-1].text
    url = http_server("--allow-write")
    bad = [("no_such_tool", {}, "call one of"),
           ("seat_usage", {"tool": DAVINCI, "window_seconds": 365 * 86400}, "from 30 to 86400"),
           ("borrowers", {"tool": 'DaVinci"} or vector(1) or {tool="'}, "send one of these names exactly"),
           ("overage_logs", {"user": 'ben"} | line_format "x'}, "holds characters no user name has"),
           ("promql", {"query": "max_over_time(licenses_in_use[365d])"}, "send at most [1d]"),
           ("promql", {"query": "sum(licenses_in_use"}, "send a valid PromQL expression"),
           ("incidents", {"incident_id": "../../etc"}, "like INC-0001"),
           ("apply_action", {"incident_id": "INC-0001", "action_id": "raise-commit", "approver": ""},
            "send approver"),
           ("add_note", {"incident_id": "INC-0001", "text": "x", "approver": "   "}, "send approver")]

    async def session():
        async with http_client(url, TOKEN) as client:
            seen = []
            for tool, args, hint in bad:
                answer = await call(client, tool, **args)
                after = await call(client, "seat_usage", tool=DAVINCI)
                seen.append((tool, answer, hint, after))
            big = await call(client, "promql", query='{__name__=~"license.*"}')
            return seen, big

    seen, big = mcp_client.run(session())
    for tool, answer, hint, after in seen:
        assert answer.is_error and hint in answer.summary, (tool, answer.summary)
        assert not after.is_error and after.data["now"]["in_use"] == 20, (tool, after.summary)
    # Hundreds of series: cut to size, and the cut is stated.
    assert not big.is_error and big.chars <= MAX_ANSWER_CHARS
    assert big.data["total_series"] > 25 and any("series" in t for t in big.data["truncated"]), big.data.get("truncated")


def test_writes_need_allow_write_and_an_approver_and_land_on_the_timeline(http_server, overage_run, tmp_path):
    read_only = http_server()
    writable = http_server("--allow-write")

    async def refused():
        async with http_client(read_only, TOKEN) as client:
            investigated = await call(client, "investigate", text="overage spike on DaVinci")
            write = await call(client, "apply_action", incident_id="INC-0001", action_id="raise-commit",
                               approver="Dana")
            return investigated, write

    investigated, write = mcp_client.run(refused())
    assert investigated.data["incident_id"] is None and any("no incident filed" in n for n in investigated.data["notes"])
    assert write.is_error and "--allow-write" in write.summary

    async def applied():
        async with http_client(writable, TOKEN) as client:
            found = await call(client, "investigate", text="overage spike on DaVinci")
            incident = found.data["incident_id"]
            unsigned = await call(client, "apply_action", incident_id=incident, action_id="raise-commit", approver="")
            wrong = await call(client, "apply_action", incident_id=incident, action_id="rollback", approver="Dana")
            done = await call(client, "apply_action", incident_id=incident, action_id="raise-commit",
                              approver="Dana (on call)", verify_seconds=0)
            note = await call(client, "add_note", incident_id=incident, text="raised after the build job",
                              approver="Dana (on call)")
            shown = await call(client, "incidents", incident_id=incident)
            return found, unsigned, wrong, done, note, shown

    found, unsigned, wrong, done, note, shown = mcp_client.run(applied())
    assert found.data["top_hypothesis"] == "build_job" and found.data["incident_id"], found.summary
    assert all(a.chars <= MAX_ANSWER_CHARS for a in (investigated, found, done, note, shown))
    proposal = next(a for a in found.data["actions"] if a["id"] == "raise-commit")
    assert unsigned.is_error and "send approver" in unsigned.summary
    assert wrong.is_error and "send one of" in wrong.summary and "raise-commit" in wrong.summary
    assert not done.is_error and done.data["status"] == "applied", done.summary
    tool = requests.get(f"{overage_run.server_url}/api/tools/{requests.utils.quote(DAVINCI, safe='')}", timeout=10)
    assert tool.json()["commit"] == proposal["request"]["json"]["commit"] > 5
    kinds = [(e["kind"], e["by"]) for e in shown.data["timeline"]]
    assert ("action_approved", "Dana (on call)") in kinds and ("action_applied", "Dana (on call)") in kinds
    assert ("note", "Dana (on call)") in kinds and not note.is_error
    audits = [json.loads(line) for p in tmp_path.glob("audit-*.jsonl") for line in p.read_text().splitlines()]
    events = [(a["event"], a["who"], a["incident"]) for a in audits]
    incident = found.data["incident_id"]
    assert {("approved", "Dana (on call)", incident), ("applied", "Dana (on call)", incident),
            ("noted", "Dana (on call)", incident)} <= set(events), events
    overage_run.reset()
