"""license_server/demo/acts.py through the Flask test client: act markers, counter and gauge."""
from __future__ import annotations

import pytest

from license_server.demo import acts


def test_an_act_is_listed_counted_and_exposed(client, admin, scrape):
    """Marking an act twice keeps the latest time and the count; the metrics follow."""
    labels = (("act", "fix"), ("journey", "overage-crisis"))
    before = scrape(client).get(("license_demo_acts_total", labels), 0)
    for _ in range(2):
        answer = client.post("/api/demo/marks", headers=admin, json={"journey": "overage-crisis", "act": "fix"})
        assert answer.status_code == 201 and answer.get_json()["at"].endswith("Z")
    [listed] = client.get("/api/demo/marks").get_json()
    assert (listed["journey"], listed["act"], listed["count"]) == ("overage-crisis", "fix", 2)
    metrics = scrape(client)
    assert metrics[("license_demo_acts_total", labels)] == before + 2
    assert metrics[("license_demo_act_timestamp_seconds", labels)] > 0


@pytest.mark.parametrize("body", [{"journey": "Overage Crisis", "act": "fix"}, {"journey": "x"},
                                  {"journey": "x", "act": "a" * 41}, "fix"])
def test_bad_names_are_refused(client, admin, body):
    """Names outside [a-z0-9_-]{1,40} are 400 with the shape to send."""
    answer = client.post("/api/demo/marks", headers=admin, json=body)
    assert answer.status_code == 400 and "overage-crisis" in answer.get_json()["detail"]


def test_distinct_acts_are_bounded(client, admin, monkeypatch):
    """Past MAX_ACTS distinct names a new one is 409; a known one is still accepted."""
    monkeypatch.setattr(acts, "MAX_ACTS", 2)
    for act in ("one", "two"):
        assert client.post("/api/demo/marks", headers=admin, json={"journey": "s", "act": act}).status_code == 201
    assert client.post("/api/demo/marks", headers=admin, json={"journey": "s", "act": "three"}).status_code == 409
    assert client.post("/api/demo/marks", headers=admin, json={"journey": "s", "act": "one"}).status_code == 201


def test_marks_stored_under_the_old_field_name_still_read(app, client, scrape):
    """A mark stored before the field was called journey is listed and exposed as a journey's."""
    app.extensions["store"].set_demo_state(acts.STATE_KEY, {"overage-crisis/fix": {
        "scenario": "overage-crisis", "act": "fix", "at": 1.0, "count": 1}})
    [listed] = client.get("/api/demo/marks").get_json()
    assert (listed["journey"], listed["act"], listed["count"]) == ("overage-crisis", "fix", 1)
    assert scrape(client)[("license_demo_act_timestamp_seconds", (("act", "fix"), ("journey", "overage-crisis")))] == 1.0
