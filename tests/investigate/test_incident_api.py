"""The investigator against the incident API of a real server: it joins the incident the server
joins. (The API itself is tested in process: tests/server/test_server_incident_api.py.)"""
from __future__ import annotations

import requests

from license_demo.investigate.subject import match_tools, parse

TOKEN = {"Authorization": "Bearer test-admin-token"}


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


def test_investigator_finds_the_incident_the_server_joins(server_factory, capsys):
    """The investigator's lookup agrees with the server's join: the tool's open incident for any alert
    on that tool (whoever it names), and for an alert without a tool only the same alert and user."""
    from license_demo.clients import ServerClient
    from license_demo.investigate.investigation import find_open_incident
    from support.webhook_auth import alert, notification, post_notification

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
    # `license-demo incident list` shows each incident's state as the server keeps it.
    from license_demo import cli
    requests.put(f"{url}/api/config/tools/{davinci}", json={"commit": 10}, headers=TOKEN, timeout=10)
    capsys.readouterr()
    assert cli.main(["incident", "list", "--server", url, "--admin-token", "test-admin-token"]) == 0
    listed = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert listed == {by_tool["id"]: "fix_applied", hoarding["id"]: "open"}
