"""license_server/events.py as the API uses it: counters, log lines and story records per outcome.

Counters live in the test process across apps, so each test compares before and after."""
from __future__ import annotations

import json

from license_server import story_store

TOOL = "Vector - DaVinci Configurator SE"


def lines(capsys, event):
    """The JSON log lines of one event written since the last call."""
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in out if line.get("event") == event]


def failures(scrape, client, tool, reason):
    """license_borrow_failures_total{tool, reason} now (0 when absent)."""
    return scrape(client).get(("license_borrow_failures_total", (("reason", reason), ("tool", tool))), 0)


def test_an_unknown_tool_counts_as_unknown_but_logs_its_name(client, scrape, capsys):
    """The label stays bounded (tool="unknown"); the line says which name was asked for."""
    before = failures(scrape, client, "unknown", "unknown_tool")
    capsys.readouterr()
    assert client.post("/api/borrow", json={"tool": "Nope 9", "user": "ana"}).status_code == 404
    assert failures(scrape, client, "unknown", "unknown_tool") == before + 1
    [line] = lines(capsys, "borrow_rejected")
    assert (line["tool"], line["reason"], line["level"]) == ("Nope 9", "unknown_tool", "WARNING")


def test_exhaustion_is_counted_logged_and_noted_in_the_story(app, client, admin, scrape, capsys):
    """A 409 borrow: reason exhausted in the counter, the line and the story's refusals."""
    client.put(f"/api/config/tools/{TOOL}", json={"commit": 1, "max_overage": 0}, headers=admin)
    assert client.post("/api/borrow", json={"tool": TOOL, "user": "ana"}).status_code == 201
    before = failures(scrape, client, TOOL, "exhausted")
    capsys.readouterr()
    assert client.post("/api/borrow", json={"tool": TOOL, "user": "bo"}).status_code == 409
    assert failures(scrape, client, TOOL, "exhausted") == before + 1
    assert [line["user"] for line in lines(capsys, "borrow_rejected")] == ["bo"]
    assert len(story_store.refusal_times(app.extensions["store"], TOOL, 0, ("exhausted",))) == 1


def test_a_run_id_is_kept_with_its_borrow(app, client):
    """X-Run-ID goes with the borrow into the story; a malformed one is ignored."""
    client.post("/api/borrow", json={"tool": TOOL, "user": "ana"}, headers={"X-Run-ID": "run-7"})
    client.post("/api/borrow", json={"tool": TOOL, "user": "bo"}, headers={"X-Run-ID": "bad id!"})
    runs = [b["run_id"] for b in story_store.borrows_since(app.extensions["store"], 0, TOOL)]
    assert sorted(runs, key=str) == sorted(["run-7", None], key=str)


def test_only_invalid_borrows_count_as_invalid_request(client, scrape):
    """A 400 on POST /api/borrow counts; a 400 on another endpoint does not."""
    before = failures(scrape, client, "unknown", "invalid_request")
    assert client.post("/api/borrow", json={"user": "ana"}).status_code == 400
    assert client.post("/api/return", json={}).status_code == 400
    assert failures(scrape, client, "unknown", "invalid_request") == before + 1


def test_the_api_the_form_and_openapi_change_the_config_fields_of_events():
    """PUT /api/config/tools/<name>, the /config form and the OpenAPI body (which preflight
    reads) declare exactly the fields whose changes events.config_changed records."""
    from license_server import events, pages, schemas
    assert tuple(schemas.ToolUpdateSchema().fields) == events.CONFIG_FIELDS
    assert tuple(pages.ToolFormSchema().fields) == events.CONFIG_FIELDS
    assert tuple(pages.FIELD_LABELS) == events.CONFIG_FIELDS

