"""The incident API and pages on a real server: create-or-update, timeline, durations, export, errors."""
from __future__ import annotations

import requests

from license_demo.investigate.subject import match_tools, parse

TOKEN = {"Authorization": "Bearer test-admin-token"}


def test_incident_lifecycle_pages_and_bad_input(server_factory):
    """One open incident per alert and subject; events sorted; durations; Markdown export; clear errors."""
    url = server_factory().url
    body = {"alert": "HighOverageRate", "tool": "ETAS - INCA", "severity": "warning",
            "problem_started_at": 1_800_000_000, "alert_received_at": "2027-01-15T08:00:40Z"}
    assert requests.post(f"{url}/api/incidents", json=body, timeout=10).status_code == 401
    created = requests.post(f"{url}/api/incidents", json=body, headers=TOKEN, timeout=10)
    assert created.status_code == 201
    incident = created.json()
    assert incident["id"] == "INC-0001" and incident["durations"]["to_detect_seconds"] == 40.0
    again = requests.post(f"{url}/api/incidents", json={**body, "summary": "second look"}, headers=TOKEN, timeout=10)
    assert again.status_code == 200 and again.json()["id"] == "INC-0001" and again.json()["summary"] == "second look"

    patched = requests.patch(f"{url}/api/incidents/INC-0001", headers=TOKEN, timeout=10, json={
        "events": [{"kind": "resolved", "at": 1_800_000_100, "by": "dana"},
                   {"kind": "action_applied", "at": 1_800_000_070, "detail": "commit 8 → 10"}],
        "report": {"markdown": "### facts\n| a | b |"}}).json()
    assert [e["kind"] for e in patched["timeline"]] == ["problem_started", "alert_received", "action_applied",
                                                        "resolved"]
    assert patched["status"] == "resolved" and patched["durations"]["to_resolve_seconds"] == 60.0
    assert requests.get(f"{url}/api/incidents?status=resolved", timeout=10).json()[0]["id"] == "INC-0001"
    assert requests.get(f"{url}/api/incidents?status=open", timeout=10).json() == []
    # A resolved incident is not reused: the same alert opens a new one.
    assert requests.post(f"{url}/api/incidents", json=body, headers=TOKEN, timeout=10).json()["id"] == "INC-0002"

    markdown = requests.get(f"{url}/incidents/INC-0001.md", timeout=10)
    assert markdown.headers["Content-Type"].startswith("text/markdown")
    assert "Time to detect: 40 s" in markdown.text and "Time to resolve: 1 min 0 s" in markdown.text
    assert "| 2027-01-15T08:01:10.000Z | Action applied |" in markdown.text
    page = requests.get(f"{url}/incidents", timeout=10).text
    assert 'data-incident="INC-0001" data-status="resolved"' in page
    assert 'data-kind="action_applied"' in requests.get(f"{url}/incidents/INC-0001", timeout=10).text

    bad = requests.patch(f"{url}/api/incidents/INC-0001", json={"events": [{"kind": "fixed"}]},
                         headers=TOKEN, timeout=10)
    assert bad.status_code == 400 and "resolved" in bad.json()["detail"]
    assert requests.patch(f"{url}/api/incidents/INC-9999", json={}, headers=TOKEN, timeout=10).status_code == 404
    assert requests.post(f"{url}/api/incidents", json={"tool": "x"}, headers=TOKEN, timeout=10).status_code == 400
    assert requests.get(f"{url}/incidents/INC-9999", timeout=10).status_code == 404


def test_free_text_names_tools_users_and_symptoms():
    """Tool words, user names and symptom words are found in what the operator typed."""
    tools = ["Vector - DaVinci Configurator SE", "Vector - DaVinci Developer", "ETAS - INCA",
             "MathWorks - MATLAB/Simulink"]
    assert match_tools("overage spike on DaVinci", tools) == tools[:2]
    assert match_tools("simulink is slow", tools) == [tools[3]]
    subject = parse("ci-nightly-build holds everything, nobody can borrow", tools,
                    ["ci-nightly-build", "ci"], ["platform"])
    assert subject.user == "ci-nightly-build" and subject.tool is None
    assert parse("INCA overage cost", tools, [], []).tool == "ETAS - INCA"
    assert parse("", tools, [], [], tool="configurator").tool == tools[0]


def test_investigator_finds_the_incident_the_server_joins(server_factory):
    """The investigator's lookup agrees with the server's join: the tool's open incident for any alert
    on that tool (whoever it names), and for an alert without a tool only the same alert and user."""
    from license_demo.clients import ServerClient
    from license_demo.investigate.investigation import find_open_incident
    from webhook_auth import alert, notification, post_notification

    url = server_factory().url
    davinci = "Vector - DaVinci Configurator SE"
    post_notification(url, notification("firing", alert("HighOverageRate", "firing", "f1", tool=davinci),
                                        alert("SingleUserHoarding", "firing", "f2", user="ann", team="adas")))
    server = ServerClient(url, "test-admin-token")
    by_tool = find_open_incident(server, "HighOverageCostBurn", davinci, "ben")
    hoarding = find_open_incident(server, "SingleUserHoarding", None, "ann")
    assert by_tool and by_tool["alert"] == "HighOverageRate" and by_tool["tool"] == davinci
    assert hoarding and hoarding["user"] == "ann" and hoarding["id"] != by_tool["id"]
    assert find_open_incident(server, "HighOverageRate", "Vector - CANoe", None) is None
    assert find_open_incident(server, "SingleUserHoarding", None, "ben") is None
    assert find_open_incident(server, "BorrowFailureSpike", None, "ann") is None
    # What the server itself does with the same requests: join the same incidents.
    for body, expected in (({"alert": "HighOverageCostBurn", "tool": davinci, "user": "ben"}, by_tool["id"]),
                           ({"alert": "SingleUserHoarding", "user": "ann"}, hoarding["id"])):
        joined = requests.post(f"{url}/api/incidents", json=body, headers=TOKEN, timeout=10)
        assert joined.status_code == 200 and joined.json()["id"] == expected
