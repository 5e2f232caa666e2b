"""The Loki test double answers every recorded request as real Loki 3.4.6 did.

tests/loki_recordings holds 61 requests (the dashboards' and alerts' queries, the investigator's,
the docs', and contract cases) with Loki's answers over a fixed corpus of the server's lines
(its README says how they were made). Each is replayed against tests/support/loki_query_api.py loaded
with the same entries; results are compared as sets of streams or series, ignoring what Loki
leaves unspecified (stats, the order of streams and series).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from support.loki_query_api import Entry, LokiQueryAPI

RECORDINGS = Path(__file__).resolve().parent / "loki_recordings"
QUERIES = json.loads((RECORDINGS / "queries.json").read_text())["queries"]


def corpus() -> list[Entry]:
    """The recorded push: each entry's timestamp and labels from push.json, its text from lines.jsonl."""
    lines = (RECORDINGS / "lines.jsonl").read_text().splitlines()
    push = json.loads((RECORDINGS / "push.json").read_text())
    return [Entry(int(e["ts"]), dict(e["stream"]), lines[e["line"] - 1]) for e in push["entries"]]


@pytest.fixture(scope="module")
def loki():
    """The double serving the recorded corpus (its clock at the recording's end: nothing uses it)."""
    entries = corpus()
    assert len(entries) == 265
    end = json.loads((RECORDINGS / "queries.json").read_text())["anchors"]["end"]
    with LokiQueryAPI(lambda: entries, clock=lambda: end / 1e9) as api:
        yield api


def as_set(data: dict) -> tuple[str, set]:
    """resultType and the result as a set of (labels, values) pairs."""
    def frozen(labels: dict) -> str:
        return json.dumps(labels, sort_keys=True)
    items = set()
    for item in data["result"]:
        if "stream" in item:
            items.add((frozen(item["stream"]), json.dumps(item["values"])))
        elif "values" in item:
            items.add((frozen(item["metric"]), json.dumps(item["values"])))
        else:
            items.add((frozen(item["metric"]), json.dumps(item["value"])))
    return data["resultType"], items


@pytest.mark.parametrize("recorded", QUERIES, ids=[q["id"] for q in QUERIES])
def test_double_answers_as_loki_did(loki, recorded):
    """Same status; for 200 the same resultType and the same streams or series with their values."""
    expected = json.loads((RECORDINGS / recorded["response"]).read_text())
    answer = requests.request(recorded["method"], loki.url + recorded["path"],
                              params=recorded["params"], timeout=30)
    assert answer.status_code == expected["status_code"], (recorded["name"], answer.text)
    if expected["status_code"] != 200:
        assert answer.text.strip(), "a refusal says why"
        return
    kind, got = as_set(answer.json()["data"])
    want_kind, want = as_set(expected["body"]["data"])
    assert kind == want_kind
    assert got == want, (recorded["name"], sorted(got - want)[:3], sorted(want - got)[:3])
