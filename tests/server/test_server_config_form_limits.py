"""The /config form and the admin API refuse the same settings with the same sentence."""
from __future__ import annotations

import html
import re

import pytest

from license_server.schemas import COST_ERROR, SEATS_ERROR

TOOL = "Vector - DaVinci Configurator SE"
VALID = {"commit": "5", "max_overage": "15", "overage_cost": "150", "commit_cost_monthly": "600"}


def form_csrf(client) -> str:
    """The CSRF token of the /config page just rendered."""
    page = client.get("/config").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client, name: str = "presenter") -> None:
    """Log in on /config with the admin token."""
    answer = client.post("/config/login", data={"token": "test-admin-token", "name": name,
                                                "csrf_token": form_csrf(client)})
    assert answer.status_code == 302, answer.get_data(as_text=True)


@pytest.mark.parametrize("field, typed, sent, message", [
    ("commit", "20000", 20000, SEATS_ERROR),
    ("max_overage", "10001", 10001, SEATS_ERROR),
    ("overage_cost", "1000000.01", 1000000.01, COST_ERROR),
    ("commit_cost_monthly", "5e9", 5e9, COST_ERROR),
    ("commit", "-1", -1, SEATS_ERROR),
])
def test_form_refuses_what_the_api_refuses(app, client, admin, field, typed, sent, message):
    """Over the API's caps: the PUT answers 400 and the form 400 with the same message beside the
    field, the typed value kept, and the tool unchanged."""
    before = client.get(f"/api/tools/{TOOL}").get_json()
    put = client.put(f"/api/config/tools/{TOOL}", headers=admin, json={field: sent})
    assert put.status_code == 400 and message in put.get_json()["detail"], put.get_json()

    log_in(client)
    answer = client.post("/config", data={**VALID, field: typed, "tool": TOOL,
                                          "csrf_token": form_csrf(client)})
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400
    assert message in page
    assert re.search(rf'name="{field}"\s+value="{re.escape(typed)}"', page), "typed value not kept"
    assert client.get(f"/api/tools/{TOOL}").get_json() == before
    assert app.extensions["store"].config_history() == []


def test_form_accepts_the_largest_values_the_api_accepts(app, client):
    """10,000 seats and $1,000,000 are within the limits on the form too."""
    log_in(client)
    top = {"commit": "10000", "max_overage": "10000", "overage_cost": "1000000",
           "commit_cost_monthly": "1000000"}
    assert client.post("/config", data={**top, "tool": TOOL, "csrf_token": form_csrf(client)}).status_code == 302
    tool = client.get(f"/api/tools/{TOOL}").get_json()
    assert (tool["commit"], tool["max_overage"], tool["overage_cost"]) == (10000, 10000, 1000000)


def test_login_name_is_cleaned_like_the_api_actor(app, client):
    """A name with control characters (they reach logs and the history) is stored as one clean line."""
    log_in(client, name="pre\x01sen\tter\x7f")
    form = {**VALID, "commit": "6", "tool": TOOL, "csrf_token": form_csrf(client)}
    assert client.post("/config", data=form).status_code == 302
    assert [h["actor"] for h in app.extensions["store"].config_history()] == ["pre sen ter"]
