"""JSON log lines: the fields of every event, request ids and the presenter's LogQL query."""
from __future__ import annotations

import json
import re

TOOL = "Vector - DaVinci Configurator SE"
ADMIN = {"Authorization": "Bearer test-admin-token"}


def log_lines(captured: str) -> list[dict]:
    """Every stdout line, each of which must be one JSON object."""
    lines = [line for line in captured.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def logql_matches(raw: str, **wanted: str) -> bool:
    """`| json | key="value"`: LogQL's json parser renders booleans and numbers as text."""
    fields = json.loads(raw)

    def text(value):
        return json.dumps(value) if isinstance(value, (bool, int, float)) else str(value)

    return all(key in fields and text(fields[key]) == value for key, value in wanted.items())


def test_borrow_line_answers_the_presenters_query(client, capsys):
    """An overage borrow logs a line matching tool="..." | overage="true" with every field."""
    for i in range(6):
        client.post("/api/borrow", json={"tool": TOOL, "user": f"dev{i}", "team": "adas"},
                    headers={"X-Request-ID": f"req-{i}", "X-Synthetic": "true"})
    raw = [line for line in capsys.readouterr().out.splitlines() if '"event": "borrow"' in line]
    matching = [line for line in raw if logql_matches(line, tool=TOOL, overage="true")]
    assert len(raw) == 6 and len(matching) == 1
    assert '"overage": true' in matching[0]
    line = json.loads(matching[0])
    assert line["level"] == "INFO" and line["message"] and line["event"] == "borrow"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line["timestamp"])
    assert (line["user"], line["team"], line["request_id"], line["synthetic"]) == \
        ("dev5", "adas", "req-5", True)
    assert line["cost"] == 150 and len(line["borrow_id"]) >= 8
    commit_line = json.loads(raw[0])
    assert commit_line["overage"] is False and commit_line["cost"] == 0


def test_request_id_is_echoed_or_generated(client, capsys):
    """X-Request-ID comes back in the response and on the http_request line; else one is made."""
    given = client.get("/api/tools", headers={"X-Request-ID": "trace-42"})
    made = client.get("/api/tools")
    assert given.headers["X-Request-ID"] == "trace-42"
    assert len(made.headers["X-Request-ID"]) >= 8
    http = [l for l in log_lines(capsys.readouterr().out) if l["event"] == "http_request"]
    assert [l["request_id"] for l in http] == ["trace-42", made.headers["X-Request-ID"]]
    line = http[0]
    assert (line["method"], line["path"], line["route"], line["status"]) == \
        ("GET", "/api/tools", "/api/tools", 200)
    assert isinstance(line["duration_ms"], (int, float))
    assert "synthetic" not in line


def test_every_event_is_logged(client, capsys):
    """return, borrow_rejected, config_change, force_return and reset lines carry their fields."""
    seat = client.post("/api/borrow", json={"tool": TOOL, "user": "ana"}).get_json()
    client.post("/api/return", json={"id": seat["id"]})
    client.post("/api/borrow", json={"tool": "Nope", "user": "ana"})
    client.put(f"/api/config/tools/{TOOL}", json={"commit": 7}, headers=ADMIN)
    client.post("/api/borrow", json={"tool": TOOL, "user": "ci"})
    client.post("/api/users/ci/force-return", headers=ADMIN)
    client.post("/api/reset", headers=ADMIN)
    lines = log_lines(capsys.readouterr().out)
    by_event = {}
    for line in lines:
        by_event.setdefault(line["event"], []).append(line)
    assert {"borrow", "return", "borrow_rejected", "config_change", "force_return", "reset",
            "http_request"} <= set(by_event)
    returned = by_event["return"][0]
    assert (returned["borrow_id"], returned["tool"], returned["user"], returned["seat"]) == \
        (seat["id"], TOOL, "ana", "commit")
    # Only borrow lines answer `| overage="true"`: a return names its seat kind instead.
    assert "overage" not in returned and "overage" not in by_event["force_return"][0]
    rejected = by_event["borrow_rejected"][0]
    assert (rejected["tool"], rejected["user"], rejected["level"]) == ("Nope", "ana", "WARNING")
    change = by_event["config_change"][0]
    assert (change["tool"], change["field"], change["old"], change["new"]) == (TOOL, "commit", 5, 7)
    assert by_event["force_return"][0]["user"] == "ci"
    assert all(line["request_id"] for line in lines)


def test_an_unfit_request_id_is_replaced_and_flagged(client, capsys):
    """Over 128 characters, or with quotes, spaces, braces or non-ASCII: a generated id is
    echoed and logged with request_id_replaced; a 128-character plain id is kept as sent."""
    longest = "a1.B2_c3:d4-" * 10 + "abcdefgh"
    unfit = ["x" * 129, 'say "hi"', "two words", "{app=x}", "caf\u00e9".encode().decode("latin-1"),
             "back\\slash", "ok,comma"]
    kept = client.get("/api/tools", headers={"X-Request-ID": longest})
    assert len(longest) == 128 and kept.headers["X-Request-ID"] == longest
    echoed = [client.get("/api/tools", headers={"X-Request-ID": bad}) for bad in unfit]
    assert all(r.status_code == 200 for r in echoed)
    ids = [r.headers["X-Request-ID"] for r in echoed]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    http = [l for l in log_lines(capsys.readouterr().out) if l["event"] == "http_request"]
    assert http[0]["request_id"] == longest and "request_id_replaced" not in http[0]
    assert [(l["request_id"], l.get("request_id_replaced")) for l in http[1:]] == [(i, True) for i in ids]
