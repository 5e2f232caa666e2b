"""The investigator on the native stack: each demo scenario's conditions yield the right cause and fix."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from investigator_helpers import (DAVINCI, assert_matches_prometheus, audit_records, cli_env, fact, fresh,
                                  incident, investigate, investigate_at_terminal, wait_prom)

pytestmark = pytest.mark.stack

BUILD_TEAM, BUILD_AGENTS = "body-electronics", ["ben", "clara", "niklas", "emma", "paul"]
RUNAWAY = "ci-nightly-build"
# The overage test examines this many seconds: only its own borrows are in them.
WINDOW = 30


def borrow(stack, tool: str, user: str, team: str) -> requests.Response:
    """One borrow through the public API."""
    return requests.post(f"{stack.server_url}/api/borrow", json={"tool": tool, "user": user, "team": team},
                         timeout=10)


def tool_config(stack, tool: str) -> dict:
    """The tool as the server reports it now."""
    return requests.get(f"{stack.server_url}/api/tools/{requests.utils.quote(tool, safe='')}", timeout=10).json()


def test_overage_crisis_points_at_the_build_job_and_declining_changes_nothing(native_stack, tmp_path):
    """A team's build floods DaVinci: build job (or low commit) first, raise commit or tell the team."""
    stack = native_stack
    fresh(stack, quiet_seconds=WINDOW)
    before = wait_prom(stack, f'sum(license_borrow_success_total{{tool="{DAVINCI}"}}) or vector(0)',
                       lambda v: v is not None)
    taken = [borrow(stack, DAVINCI, BUILD_AGENTS[i % 5], BUILD_TEAM).status_code for i in range(20)]
    assert taken == [201] * 20
    wait_prom(stack, f'sum(licenses_overage{{tool="{DAVINCI}"}})', lambda v: v == 15)
    wait_prom(stack, f'tool:license_overage_seats:ratio{{tool="{DAVINCI}"}}', lambda v: v == 0.75)
    wait_prom(stack, f'sum(license_borrow_success_total{{tool="{DAVINCI}"}})', lambda v: v and v >= before + 20)
    audit_path = tmp_path / "audit.jsonl"
    env = cli_env(stack, audit_path)

    code, result, err = investigate(env, "overage spike on DaVinci", "--window", str(WINDOW))
    assert code == 0, err
    assert result["tool"] == DAVINCI
    assert result["top_hypothesis"] in ("build_job", "commit_too_low"), result["hypotheses"]
    assert result["first_action"] in ("raise-commit", "notify-team"), result["actions"]
    top = result["hypotheses"][0]
    assert top["confidence"] >= 0.6 and top["subject"].get("team") == BUILD_TEAM, top
    # The numbers are the ones Prometheus reports for the same queries at the same instant,
    # and the gauges equal what was borrowed.
    assert_matches_prometheus(stack, result, "overage_seats_now", "overage_share_now", "top_team_share")
    assert fact(result, "overage_seats_now")["value"] == 15
    assert fact(result, "overage_share_now")["value"] == 0.75
    assert fact(result, "held_by_team")["value"] == [{"team": BUILD_TEAM, "seats": 20, "overage": 15}]
    by_tool = {r["tool"]: r["value"] for r in fact(result, "overage_window")["value"]}
    answer = requests.get(stack.prometheus_url + "/api/v1/query", timeout=10, params={
        "query": fact(result, "overage_window")["query"], "time": result["evidence"]["at_epoch"]}).json()
    assert by_tool == {r["metric"]["tool"]: float(r["value"][1]) for r in answer["data"]["result"]}
    assert by_tool[DAVINCI] >= 15
    raise_commit = next(a for a in result["actions"] if a["id"] == "raise-commit")
    assert raise_commit["request"]["json"] == {"commit": 10, "max_overage": 10}
    assert raise_commit["cost"]["extra_commit_monthly"] == 5 * 600
    assert "curl -X PUT" in raise_commit["curl"] and "--approve raise-commit" in raise_commit["command"]
    assert result["incident_id"]

    # Without a terminal there is nobody to approve: nothing changes.
    code, refused, err = investigate(env, "overage spike on DaVinci", "--window", str(WINDOW), "--apply",
                                     "--action", "raise-commit")
    assert refused["applied"]["status"] == "declined" and "approval needs a person" in err
    # A person types "no" at the prompt: nothing changes either.
    code, declined, err = investigate_at_terminal(env, "no", "overage spike on DaVinci", "--window", str(WINDOW),
                                                  "--action", "raise-commit", "--approver", "dana")
    assert declined["applied"] == {"status": "declined", "action": "raise-commit", "approver": "dana"}, err
    config = tool_config(stack, DAVINCI)
    assert (config["commit"], config["max_overage"], config["in_use"]) == (5, 15, 20)
    events = [r["event"] for r in audit_records(audit_path)]
    assert events.count("declined") == 2 and "applied" not in events and "approved" not in events
    kinds = [e["kind"] for e in incident(stack, declined["incident_id"])["timeline"]]
    assert "action_declined" in kinds and "action_applied" not in kinds
    markdown = requests.get(f"{stack.server_url}/incidents/{declined['incident_id']}.md", timeout=10).text
    assert "Action declined" in markdown and "build job" in markdown


def test_friday_crisis_force_returns_the_hoarder_after_approval(native_stack, tmp_path):
    """One script holds every seat: hoarding first, force-return; applied only with --approve, verified."""
    stack = native_stack
    fresh(stack)
    audit_path = tmp_path / "audit.jsonl"
    env = cli_env(stack, audit_path)
    watcher = subprocess.Popen([sys.executable, "-m", "license_demo.cli", "investigate", "--watch",
                                "--interval", "1", "--max-seconds", "150", "--window", "120"],
                               env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "watch.log").open("w"))
    try:
        started = time.time()
        held = 0
        for tool in [t["name"] for t in requests.get(f"{stack.server_url}/api/tools", timeout=10).json()]:
            while borrow(stack, tool, RUNAWAY, "platform").status_code == 201:
                held += 1
        wait_prom(stack, f'sum(licenses_held_by_user{{user="{RUNAWAY}"}})', lambda v: v == held)

        code, result, err = investigate(env, "nobody can borrow anything", "--window", "120")
        assert code == 0, err
        assert result["top_hypothesis"] == "hoarding", result["hypotheses"]
        assert result["first_action"] == "force-return", result["actions"]
        assert fact(result, "holder_seats")["value"] == held
        assert fact(result, "holder_share")["value"] == 1.0
        assert len(fact(result, "holder_tools")["value"]) == 6
        assert_matches_prometheus(stack, result, "holder_seats", "seats_available_total",
                                  "holder_checkout_share")
        assert result["actions"][0]["request"] == {"method": "POST", "path": f"/api/users/{RUNAWAY}/force-return"}

        # The alert reaches the server's webhook (and the watcher) before anyone acts.
        stack.wait_for_webhook("SingleUserHoarding", labels={"user": RUNAWAY}, since=started, timeout=60)
        # --approve without a name is refused; with one, the action runs and is verified.
        refused = subprocess.run([sys.executable, "-m", "license_demo.cli", "investigate", "--user", RUNAWAY,
                                  "--approve", "force-return"], env=env, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "--approver" in refused.stderr
        assert requests.get(f"{stack.server_url}/api/borrows?user={RUNAWAY}", timeout=10).json()
        code, applied, err = investigate(env, "--user", RUNAWAY, "--window", "120", "--approve", "force-return",
                                         "--approver", "Dana (on call)", "--verify-timeout", "90")
        assert code == 0, err
        assert applied["applied"]["status"] == "applied" and applied["applied"]["verified"] is True, applied["applied"]
        assert requests.get(f"{stack.server_url}/api/borrows?user={RUNAWAY}", timeout=10).json() == []
        records = audit_records(audit_path)
        assert [r["event"] for r in records if r["event"] != "investigated"][-3:] == ["approved", "applied", "verified"]
        assert all(r["who"] == "Dana (on call)" for r in records if r["event"] in ("approved", "applied"))
        timeline = incident(stack, applied["incident_id"])
        kinds = [e["kind"] for e in timeline["timeline"]]
        assert {"investigation_done", "action_approved", "action_applied", "resolved"} <= set(kinds), kinds
        assert timeline["status"] == "resolved" and timeline["durations"]["to_resolve_seconds"] is not None

        # The watcher started an investigation by itself when Alertmanager's notification arrived.
        deadline = time.monotonic() + 60
        auto = []
        while time.monotonic() < deadline and not auto:
            auto = [i for i in requests.get(f"{stack.server_url}/api/incidents", timeout=10).json()
                    if i["alert"] in ("SingleUserHoarding", "LicensesExhausted")
                    and any(e["kind"] == "alert_received" and e["at"] >= time.strftime(
                        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(started - 1)) for e in i["timeline"])]
            time.sleep(1)
        assert auto, f"no incident opened from a webhook notification:\n{(tmp_path / 'watch.log').read_text()}"
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)


def test_bug_journey_points_at_the_deployment_and_recommends_rollback(native_stack, tmp_path):
    """Failures right after a deployment: fault after the deployment first, roll back."""
    stack = native_stack
    fresh(stack)
    env = cli_env(stack, tmp_path / "audit.jsonl")
    for i in range(6):
        response = borrow(stack, "Vector - CANoe", "anna", "powertrain")
        requests.post(f"{stack.server_url}/api/return", json={"id": response.json()["id"]}, timeout=10)
    time.sleep(6)
    stack.admin("POST", "/api/deployments", json={"version": "1.1.0", "commit": "b4dc0de",
                                                  "faults": {"borrow_errors": "50pct"}})
    failed = 0
    for i in range(40):
        response = borrow(stack, "Vector - CANoe", "anna", "powertrain")
        if response.status_code == 201:
            requests.post(f"{stack.server_url}/api/return", json={"id": response.json()["id"]}, timeout=10)
        else:
            failed += response.status_code == 503
    assert 5 < failed < 35
    wait_prom(stack, 'count(license_server_build_info{version="1.1.0"})', lambda v: v == 1)
    wait_prom(stack, 'sum(license_borrow_failures_total{reason="server_error"})', lambda v: v and v >= failed)

    code, result, err = investigate(env, "users report borrows failing", "--window", "120")
    assert code == 0, err
    assert result["top_hypothesis"] == "bad_deployment", result["hypotheses"]
    assert result["first_action"] == "rollback", result["actions"]
    assert result["actions"][0]["request"] == {"method": "POST", "path": "/api/deployments/rollback"}
    assert fact(result, "failures_after_change")["value"] >= failed
    assert fact(result, "failures_before_change")["value"] == 0
    assert_matches_prometheus(stack, result, "failures_after_change", "failures_before_change",
                              "borrows_after_change")
    stack.admin("POST", "/api/deployments/rollback")


def test_server_stopped_is_diagnosed_as_server_down(tmp_path):
    """The server process is gone: server down first, restart it; the report says no incident was kept."""
    from license_demo.stack import Stack, StackSettings

    stack = Stack(StackSettings(data_dir=tmp_path / "stack", admin_token="down-test-token")).start(timeout=60)
    try:
        stack.processes[0].stop()
        wait_prom(stack, 'up{job="license-server"}', lambda v: v == 0, timeout=30)
        code, result, err = investigate(cli_env(stack, tmp_path / "audit.jsonl"), "license server down?")
        assert code == 0, err
        assert result["top_hypothesis"] == "server_down", result["hypotheses"]
        assert result["first_action"] == "restart-server", result["actions"]
        assert fact(result, "server_reachable")["value"] == 0
        assert fact(result, "server_up")["value"][0]["value"] == 0
        assert_matches_prometheus(stack, result)
        assert any("incident not recorded" in n for n in result["notes"])
    finally:
        stack.stop()
