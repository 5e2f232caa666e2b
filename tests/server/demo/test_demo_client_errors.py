"""license_server/demo/client_errors.py through the Flask test client: browser error reports."""
from __future__ import annotations

import json


def test_a_report_is_logged_with_the_request_id_and_counted(client, scrape, capsys):
    """The answer carries the request id the log line has; unknown pages count as "other"."""
    key = ("license_frontend_errors_total", (("kind", "error"), ("page", "other")))
    before = scrape(client).get(key, 0)
    capsys.readouterr()
    answer = client.post("/api/client-errors", headers={"X-Request-ID": "req-42"},
                         json={"message": "x is undefined", "page": "elsewhere", "kind": "error"})
    assert answer.status_code == 201 and answer.get_json() == {"recorded": True, "request_id": "req-42"}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [line] = [line for line in lines if line.get("event") == "client_error"]
    assert (line["page"], line["error_message"], line["request_id"], line["level"]) == (
        "other", "x is undefined", "req-42", "ERROR")
    assert scrape(client)[key] == before + 1


def test_a_report_without_message_or_too_large_is_refused(client):
    """No message: 400 saying what to send; over 16 KB: 413."""
    missing = client.post("/api/client-errors", json={"page": "dashboard"})
    assert missing.status_code == 400 and '"message"' in missing.get_json()["detail"]
    large = client.post("/api/client-errors", json={"message": "x", "stack": "y" * 20_000})
    assert large.status_code == 413 and large.get_json()["error"] == "too_large"


def test_a_report_names_the_trace_of_the_failing_request(client, capsys):
    """A W3C trace id is logged as the line's trace_id and echoed; anything else is kept as
    reported_trace_id, linked to nothing, and the report is still recorded."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    capsys.readouterr()
    good = client.post("/api/client-errors", json={"message": "boom", "trace_id": trace_id})
    bad = client.post("/api/client-errors", json={"message": "boom", "trace_id": "0" * 32})
    assert good.status_code == bad.status_code == 201
    assert good.get_json()["trace_id"] == trace_id and "trace_id" not in bad.get_json()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    reports = [line for line in lines if line.get("event") == "client_error"]
    assert reports[0]["trace_id"] == trace_id and "reported_trace_id" not in reports[0]
    assert "trace_id" not in reports[1] and reports[1]["reported_trace_id"] == "0" * 32
