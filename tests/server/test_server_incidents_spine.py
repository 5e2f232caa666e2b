"""The incident as the spine: opened by the webhook from the server's own records, fixed by a
config change (form or API, recorded alike), verified and resolved by the server."""
from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import pytest

from license_server import incident_rule
from support.webhook_auth import alert, app_webhook_headers, notification

REPO = Path(__file__).resolve().parents[2]
TOOL = "Vector - DaVinci Configurator SE"


def post(client, app, status: str, *alerts: dict):
    """Deliver one notification to the webhook."""
    answer = client.post("/api/alerts/webhook", json=notification(status, *alerts), headers=app_webhook_headers(app))
    assert answer.status_code == 200, answer.get_data(as_text=True)


def fill(store, tool: str, start: float, count: int, step: float = 1.0, keep: int = 0) -> list[dict]:
    """`count` borrows of `tool` one `step` apart from `start`; the first `keep` stay held, the
    others are returned half a second after they were taken."""
    seats = []
    for i in range(count):
        seats.append(store.borrow(tool, f"user{i % 7}", "powertrain" if i % 3 else "chassis", now=start + i * step))
        if i >= keep:
            store.return_borrow(seats[-1]["id"], now=start + i * step + 0.5)
    return seats


def incidents(client) -> list[dict]:
    """GET /api/incidents."""
    return client.get("/api/incidents").get_json()


def kinds(incident: dict) -> list[str]:
    """The timeline's event kinds in order."""
    return [e["kind"] for e in incident["timeline"]]


def epoch(iso: str) -> float:
    """An incident time back to epoch seconds."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def form_csrf(client) -> str:
    """The CSRF token of the page just rendered."""
    page = client.get("/config").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_form_and_api_record_a_change_alike(app, client, admin, scrape, capsys):
    """The same log line, counter, history row and incident entry from the /config form and the PUT."""
    post(client, app, "firing", alert("HighOverageRate", "firing", "f1", tool=TOOL))
    client.post("/config/login", data={"token": "test-admin-token", "name": "presenter",
                                       "csrf_token": form_csrf(client)})
    counter = ("license_config_changes_total", (("tool", TOOL),))
    before = scrape(client).get(counter, 0)
    capsys.readouterr()
    form = {"tool": TOOL, "commit": "10", "max_overage": "15", "overage_cost": "150",
            "commit_cost_monthly": "600", "csrf_token": form_csrf(client)}
    assert client.post("/config", data=form).status_code == 302
    assert client.put(f"/api/config/tools/{TOOL}", json={"max_overage": 10}, headers=admin).status_code == 200

    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines() if l.startswith("{")]
    changes = [(l["field"], l["old"], l["new"], l["actor"], l["source"]) for l in lines if l.get("event") == "config_change"]
    assert changes == [("commit", 5, 10, "presenter", "config form"), ("max_overage", 15, 10, "admin-api", "api")]
    assert scrape(client)[counter] - before == 2
    rows = app.extensions["store"].config_history()
    assert [(r["field"], r["old"], r["new"], r["actor"]) for r in rows] == \
        [("max_overage", 15, 10, "admin-api"), ("commit", 5, 10, "presenter")]
    fixes = [e for e in incidents(client)[0]["timeline"] if e["kind"] == "action_applied"]
    assert [(f["by"], f["detail"]) for f in fixes] == [
        ("presenter", "configuration changed: commit 5 → 10 (config form)"),
        ("admin-api", "configuration changed: max_overage 15 → 10 (api)")]


def test_alert_opens_incident_from_the_servers_records(app, client):
    """problem_started is the first overage borrow of the burst; a resolve keeps it open and says so."""
    store = app.extensions["store"]
    now = time.time()
    fill(store, TOOL, now - 400, 20, keep=20)          # an earlier burst, returned before a quiet gap
    for seat in store.active_borrows():
        store.return_borrow(seat["id"], now=now - 300)
    seats = fill(store, TOOL, now - 40, 20, keep=20)
    first_overage = next(s for s in seats if s["overage"])
    post(client, app, "firing", alert("HighOverageRate", "firing", "f1", tool=TOOL),
         alert("HighOverageRate", "firing", "syn", tool=TOOL, synthetic="true"))
    [incident] = incidents(client)
    assert (incident["alert"], incident["tool"], incident["status"], incident["team"]) == \
        ("HighOverageRate", TOOL, "open", "powertrain")
    assert kinds(incident) == ["problem_started", "alert_received"]
    started = epoch(incident["timeline"][0]["at"])
    assert abs(started - epoch(first_overage["borrowed_at"][:19] + "Z")) < 1.01
    assert incident["durations"]["to_detect_seconds"] == pytest.approx(now - started, abs=2)

    post(client, app, "firing", alert("HighOverageRate", "firing", "f1", tool=TOOL))     # a repeat joins
    post(client, app, "resolved", alert("HighOverageRate", "resolved", "f1", tool=TOOL))
    [incident] = incidents(client)
    assert incident["status"] == "open" and kinds(incident)[-1] == "alert_resolved"
    assert "resolved without a fix" in incident["timeline"][-1]["detail"]
    # A fix, then the alert fires again: the timeline says the fix is not enough.
    client.put(f"/api/config/tools/{TOOL}", json={"commit": 6}, headers={"Authorization": "Bearer test-admin-token"})
    post(client, app, "firing", alert("HighOverageRate", "firing", "f1", tool=TOOL))
    post(client, app, "firing", alert("HighOverageRate", "firing", "f1", tool=TOOL))     # a repeat adds nothing
    [incident] = incidents(client)
    assert kinds(incident)[-2:] == ["action_applied", "alert_refired"]
    assert incident["timeline"][-1]["detail"] == "HighOverageRate fired again after the fix: the fix is not enough yet"
    # The investigator opening "its" incident for a named user joins the alert's one.
    joined = client.post("/api/incidents", json={"alert": "HighOverageRate", "tool": TOOL, "user": "user1"},
                         headers={"Authorization": "Bearer test-admin-token"})
    assert joined.status_code == 200 and joined.get_json()["id"] == incident["id"]


def test_synthetic_alert_opens_nothing(app, client):
    """A preflight alert is recorded, opens no incident and leaves the banner's list alone."""
    post(client, app, "firing", alert("HighOverageRate", "firing", "syn", tool=TOOL, synthetic="true"))
    assert incidents(client) == []
    assert [a["labels"]["synthetic"] for a in client.get("/api/alerts").get_json()] == ["true"]


def test_exhaustion_starts_at_the_first_refused_borrow(app, client):
    """LicensesExhausted: problem_started is the first 409 the server answered for the tool."""
    for i in range(20):
        client.post("/api/borrow", json={"tool": TOOL, "user": f"u{i}"})
    refused_at = time.time()
    assert client.post("/api/borrow", json={"tool": TOOL, "user": "late"}).status_code == 409
    post(client, app, "firing", alert("LicensesExhausted", "firing", "ex", severity="critical", tool=TOOL))
    [incident] = incidents(client)
    assert kinds(incident)[0] == "problem_started"
    assert epoch(incident["timeline"][0]["at"]) == pytest.approx(refused_at, abs=1.5)


def load_after_a_fix(app, client, admin, keep: int, count: int, span: float) -> tuple[float, list[str]]:
    """HighOverageRate on the tool fires and resolves around a commit raise from 5 to 10; then
    `count` borrows over `span` s, `keep` seats held (with ten the commit is full and every later
    borrow is overage), and the server's check right after: (the fix's time, the ids it resolved)."""
    store = app.extensions["store"]
    now = time.time()
    fill(store, TOOL, now - 30, 20, keep=20)
    post(client, app, "firing", alert("HighOverageRate", "firing", "f1", tool=TOOL))
    for seat in store.active_borrows():
        store.return_borrow(seat["id"], now=now)
    client.put(f"/api/config/tools/{TOOL}", json={"commit": 10, "max_overage": 10}, headers=admin)
    post(client, app, "resolved", alert("HighOverageRate", "resolved", "f1", tool=TOOL))
    fixed = time.time()
    fill(store, TOOL, fixed + 1, count, step=span / count, keep=keep)
    return fixed, incident_rule.verify_open_incidents(store, app.extensions["incident_policy"], now=fixed + span + 2)


@pytest.mark.parametrize("keep, count, span, resolved", [
    (6, 40, 80, True),      # 7 seats at the peak (above the old commit of 5), all within commit for 80 s
    (10, 40, 80, False),    # commit held, the rest in overage: 75 % stays above 30 %
    (6, 10, 80, False),     # too few borrows to judge
    (6, 40, 30, False),     # not yet the quiet window
    (0, 40, 80, False),     # a light load (one seat at a time) does not test the fix
])
def test_verification_resolves_only_a_fix_that_holds(app, client, admin, keep, count, span, resolved):
    """After the fix, load under the threshold for the window resolves with both durations."""
    now = time.time()
    fixed, closed = load_after_a_fix(app, client, admin, keep, count, span)
    [incident] = incidents(client)
    assert (incident["status"] == "resolved") is resolved, incident["timeline"]
    assert bool(closed) is resolved
    if resolved:
        assert kinds(incident)[-2:] == ["verified", "resolved"]
        assert "overage share 0.0%" in incident["timeline"][-2]["detail"]
        assert "peak 7 seats in use (commit before the fix: 5)" in incident["timeline"][-2]["detail"]
        assert incident["durations"]["to_detect_seconds"] is not None
        assert incident["durations"]["to_resolve_seconds"] == pytest.approx(fixed + span + 2 - now, abs=3)
        steps = {row["step"]: row["measured_seconds"] for row in incident["comparison"]}
        assert steps["Alert fires"] == incident["durations"]["to_detect_seconds"]
        assert steps["Root cause"] is None and steps["Verified"] == pytest.approx(span + 2, abs=3)
        report = client.get(f"/incidents/{incident['id']}.md").get_data(as_text=True)
        assert "## Cloud DevOps vs automotive (edge/IoT)" in report
        assert "| Root cause | not recorded | Days: L1 → L2 → L3 |" in report
        assert re.search(r"\| Total \| (\d+ min )?\d+ s \| Weeks/months", report), report
        shown = client.get("/api/overview").get_json()["incident"]      # the payoff stays on the dashboard
        assert (shown["id"], shown["status"]) == (incident["id"], "resolved")
        assert shown["to_resolve_seconds"] == incident["durations"]["to_resolve_seconds"]
    else:
        assert client.get("/api/overview").get_json()["incident"]["status"] == "open"


def test_the_threshold_comes_from_the_apps_rule_source(app_factory, admin, tmp_path):
    """An app built on a copy of the rule source with high_overage_ratio at 0.8 judges the fix by
    it: load at a 75 % overage share verifies the fix there (the checked-in 0.3 does not, above)."""
    text = (REPO / "prometheus" / "rules.src.yml").read_text()
    changed = re.sub(r"(?m)^  high_overage_ratio: .*$", "  high_overage_ratio: 0.8", text)
    assert changed != text
    (tmp_path / "rules.src.yml").write_text(changed)
    app = app_factory(ALERT_RULES_FILE=str(tmp_path / "rules.src.yml"))
    client = app.test_client()
    _, closed = load_after_a_fix(app, client, admin, keep=10, count=40, span=80)
    [incident] = incidents(client)
    assert closed == [incident["id"]] and incident["status"] == "resolved"
    assert "overage share 75.0% (threshold 80%)" in incident["timeline"][-2]["detail"]


@pytest.mark.parametrize("seconds, resolved", [(20, True), (40, False)])
def test_the_verification_window_comes_from_the_app_config(app_factory, admin, seconds, resolved):
    """INCIDENT_VERIFY_SECONDS and INCIDENT_MIN_BORROWS set the load that verifies a fix: 10 borrows
    over 30 s verify it with 20 s and 8 borrows, not with 40 s (nor with the defaults, 60 s and 20)."""
    app = app_factory(INCIDENT_VERIFY_SECONDS=seconds, INCIDENT_MIN_BORROWS=8)
    client = app.test_client()
    _, closed = load_after_a_fix(app, client, admin, keep=6, count=10, span=30)
    [incident] = incidents(client)
    assert bool(closed) is resolved and (incident["status"] == "resolved") is resolved
    if not resolved:
        waiting = client.get(f"/api/incidents/{incident['id']}").get_json()["waiting_for"]
        assert f"at least 8 borrows of {TOOL} over {seconds} s after the fix" in waiting, waiting


def test_the_verification_window_is_read_from_the_environment():
    """INCIDENT_VERIFY_SECONDS and INCIDENT_MIN_BORROWS as environment variables; 60 s and 20 without."""
    from license_server.config import from_environment
    window = ("INCIDENT_VERIFY_SECONDS", "INCIDENT_MIN_BORROWS")
    assert [from_environment({})[key] for key in window] == [60.0, 20]
    given = from_environment({"INCIDENT_VERIFY_SECONDS": "30", "INCIDENT_MIN_BORROWS": "5"})
    assert [given[key] for key in window] == [30.0, 5]


def test_alerts_without_a_tool_keep_one_incident_per_user(app, client):
    """Two hoarding users are two incidents; a repeat for one of them joins its own."""
    for user in ("hog", "pig", "hog"):
        post(client, app, "firing", alert("SingleUserHoarding", "firing", "s-" + user, user=user, team="powertrain"))
    assert sorted(i["user"] for i in incidents(client)) == ["hog", "pig"]


def test_alerts_of_one_tool_are_one_incident(app, client, admin):
    """HighOverageCostBurn on a tool with an open HighOverageRate incident joins it (timeline and
    strip), another tool gets its own, and verification waits until none of its alerts fires."""
    store = app.extensions["store"]
    now = time.time()
    fill(store, TOOL, now - 30, 20, keep=20)
    post(client, app, "firing", alert("HighOverageRate", "firing", "rate", tool=TOOL))
    post(client, app, "firing", alert("HighOverageCostBurn", "firing", "burn", tool=TOOL),
         alert("LicensesExhausted", "firing", "ex", tool="Vector - CANoe"))
    post(client, app, "firing", alert("HighOverageCostBurn", "firing", "burn", tool=TOOL))    # a repeat adds nothing
    by_tool = {i["tool"]: i for i in incidents(client)}
    assert sorted(by_tool) == ["Vector - CANoe", TOOL]
    davinci = by_tool[TOOL]
    assert (davinci["alert"], davinci["alerts"]) == ("HighOverageRate", ["HighOverageRate", "HighOverageCostBurn"])
    assert [e["detail"] for e in davinci["timeline"] if e["kind"] == "alert_received"] == [
        "HighOverageRate firing", "HighOverageCostBurn firing (joined this incident: same tool)"]
    store.update_incident(by_tool["Vector - CANoe"]["id"], lambda r: {**r, "status": "resolved"})
    shown = client.get("/api/overview").get_json()["incident"]
    assert (shown["id"], shown["alert"], shown["other_alerts"]) == (davinci["id"], "HighOverageRate",
                                                                    ["HighOverageCostBurn"])

    # One of the two resolves: the incident is not "resolved without a fix" while the other fires.
    post(client, app, "resolved", alert("HighOverageRate", "resolved", "rate", tool=TOOL))
    assert client.get("/api/overview").get_json()["incident"]["alert_resolved"] is False
    for seat in store.active_borrows():
        store.return_borrow(seat["id"], now=now)
    client.put(f"/api/config/tools/{TOOL}", json={"commit": 10, "max_overage": 10}, headers=admin)
    fixed = time.time()
    fill(store, TOOL, fixed + 1, 40, step=2, keep=6)                    # under the threshold for 80 s
    assert incident_rule.verify_open_incidents(store, app.extensions["incident_policy"], now=fixed + 82) == []
    [check] = [i for i in incidents(client) if i["status"] == "open"]
    detail = client.get("/api/overview").get_json()["incident"]["verification"]["detail"]
    assert detail.endswith("; HighOverageCostBurn still firing"), detail

    post(client, app, "resolved", alert("HighOverageCostBurn", "resolved", "burn", tool=TOOL))
    assert incident_rule.verify_open_incidents(store, app.extensions["incident_policy"], now=fixed + 84) == [check["id"]]
    [incident] = [i for i in incidents(client) if i["tool"] == TOOL]
    assert incident["status"] == "resolved" and kinds(incident)[-2:] == ["verified", "resolved"]
    assert incident["durations"]["to_resolve_seconds"] is not None
