"""The JSON API: borrow and return, every 4xx path, admin auth, config, force-return, reset."""
from __future__ import annotations

import re

import pytest

TOOL = "Vector - DaVinci Configurator SE"
OTHER = "Vector - CANoe"


def borrow(client, user="alice", tool=TOOL, **extra):
    """POST /api/borrow and return the response."""
    return client.post("/api/borrow", json={"tool": tool, "user": user, **extra})


def assert_error(response, status: int, code: str) -> None:
    """The response has the status and the {"error", "detail"} shape with a sentence."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "detail"}, body
    assert body["error"] == code
    assert len(body["detail"]) > 10


def test_tools_list_the_catalog(client):
    """Six tools, DaVinci Configurator SE with 5 commit and 15 overage seats, all free."""
    tools = client.get("/api/tools").get_json()
    assert len(tools) == 6
    davinci = next(t for t in tools if t["name"] == TOOL)
    assert (davinci["commit"], davinci["max_overage"], davinci["in_use"], davinci["available"]) == \
        (5, 15, 0, 20)
    assert set(davinci) >= {"overage_cost", "commit_cost_monthly", "commit_in_use",
                            "overage_in_use", "overage_cost_total"}
    assert client.get(f"/api/tools/{TOOL}").get_json() == davinci


def test_overage_costs_more_than_commit_for_a_busy_month(client):
    """The catalog's prices make sustained overage dearer than buying seats (capacity story)."""
    for tool in client.get("/api/tools").get_json():
        # A seat borrowed in overage once per working day (21 a month) costs more than a commit seat.
        assert 21 * tool["overage_cost"] > tool["commit_cost_monthly"], tool["name"]


def test_borrow_goes_to_commit_then_overage_then_refuses(client):
    """Commit seats first, overage next (charged once each), 409 exhausted at the limit."""
    seats = [borrow(client, user=f"u{i}", team="powertrain") for i in range(20)]
    assert [s.status_code for s in seats] == [201] * 20
    bodies = [s.get_json() for s in seats]
    assert [b["overage"] for b in bodies] == [False] * 5 + [True] * 15
    assert set(bodies[0]) >= {"id", "tool", "user", "team", "overage", "borrowed_at", "expires_at"}
    assert bodies[0]["team"] == "powertrain" and bodies[0]["expires_at"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$", bodies[0]["borrowed_at"])
    assert_error(borrow(client, user="late"), 409, "exhausted")
    tool = client.get(f"/api/tools/{TOOL}").get_json()
    assert (tool["in_use"], tool["commit_in_use"], tool["overage_in_use"], tool["available"]) == \
        (20, 5, 15, 0)
    assert tool["overage_cost_total"] == pytest.approx(15 * tool["overage_cost"])


def test_return_frees_a_seat_once(client):
    """The first return frees the seat; the second answers 409 and frees nothing."""
    seat = borrow(client).get_json()
    first = client.post("/api/return", json={"id": seat["id"]})
    assert first.status_code == 200
    assert first.get_json()["id"] == seat["id"] and first.get_json()["returned_at"]
    borrow(client, user="bob")
    assert_error(client.post("/api/return", json={"id": seat["id"]}), 409, "already_returned")
    assert client.get(f"/api/tools/{TOOL}").get_json()["in_use"] == 1


def test_borrows_filter_active_seats(client):
    """GET /api/borrows lists active borrows, filtered by user, tool and team."""
    a = borrow(client, user="alice", team="chassis").get_json()
    borrow(client, user="bob", team="body", tool=OTHER)
    gone = borrow(client, user="alice", team="chassis", tool=OTHER).get_json()
    client.post("/api/return", json={"id": gone["id"]})
    assert len(client.get("/api/borrows").get_json()) == 2
    assert [b["id"] for b in client.get("/api/borrows?user=alice").get_json()] == [a["id"]]
    assert [b["user"] for b in client.get(f"/api/borrows?tool={OTHER}").get_json()] == ["bob"]
    assert [b["user"] for b in client.get("/api/borrows?team=chassis").get_json()] == ["alice"]


@pytest.mark.parametrize("body", [
    {},
    {"tool": TOOL},
    {"user": "alice"},
    {"tool": 5, "user": "alice"},
    {"tool": TOOL, "user": ""},
    {"tool": TOOL, "user": "alice", "lease_seconds": -3},
    {"tool": TOOL, "user": "alice", "lease_seconds": "soon"},
    {"tool": TOOL, "user": "alice", "team": 7},
])
def test_malformed_borrow_is_400(client, body):
    """Missing or mistyped fields answer 400 invalid_request and take no seat."""
    assert_error(client.post("/api/borrow", json=body), 400, "invalid_request")
    assert client.get(f"/api/tools/{TOOL}").get_json()["in_use"] == 0


def test_non_json_borrow_is_400(client):
    """A body that is not JSON is refused with the error shape."""
    response = client.post("/api/borrow", data="tool=x", content_type="text/plain")
    assert response.status_code in (400, 415)
    assert set(response.get_json()) == {"error", "detail"}


def test_every_not_found_path(client):
    """Unknown tool, borrow id and route answer 404 with the error shape."""
    assert_error(borrow(client, tool="Nope - Missing"), 404, "unknown_tool")
    assert_error(client.get("/api/tools/Nope"), 404, "unknown_tool")
    assert_error(client.post("/api/return", json={"id": "does-not-exist"}), 404, "unknown_borrow")
    assert client.get("/api/nowhere").status_code == 404
    assert_error(client.post("/api/return", json={}), 400, "invalid_request")
    assert_error(client.get("/api/borrows?team="), 400, "invalid_request")


ADMIN_CALLS = [
    ("put", f"/api/config/tools/{TOOL}", {"commit": 6}),
    ("post", "/api/users/alice/force-return", None),
    ("post", "/api/reset", None),
]


@pytest.mark.parametrize("method,path,body", ADMIN_CALLS)
def test_admin_needs_the_right_token(client, admin, method, path, body):
    """Missing and wrong tokens answer 401; the right one is let through."""
    call = getattr(client, method)
    assert_error(call(path, json=body), 401, "unauthorized")
    assert_error(call(path, json=body, headers={"Authorization": "Bearer wrong"}), 401,
                 "unauthorized")
    assert_error(call(path, json=body, headers={"Authorization": "Basic dGVzdA=="}), 401,
                 "unauthorized")
    assert call(path, json=body, headers=admin).status_code == 200


# Admin calls with a bad body, and a piece of the hint the 400 gives.
DEMO_ADMIN_CALLS = [
    ("put", f"/api/config/tools/{TOOL}", {"commit": -1}, "commit"),
    ("put", "/api/faults/borrow_errors", {"variant": 5}, '{"variant": "off"}'),
    ("post", "/api/deployments", {"version": "bad version!"}, '"1.5.0"'),
    ("post", "/api/demo/marks", {"journey": "Overage Crisis"}, '{"journey": "overage-crisis"'),
    ("post", "/api/incidents", {"tool": "x"}, '{"alert": "HighOverageRate"'),
    ("patch", "/api/incidents/INC-0001", {"events": [{"kind": "fixed"}]}, "resolved"),
]


@pytest.mark.parametrize("method,path,body,hint", DEMO_ADMIN_CALLS)
def test_demo_admin_calls_check_the_token_then_the_body(client, admin, method, path, body, hint):
    """Without the token 401 whatever the body; with it a bad body is 400 saying what to send."""
    call = getattr(client, method)
    assert_error(call(path, json=body), 401, "unauthorized")
    response = call(path, json=body, headers=admin)
    assert_error(response, 400, "invalid_request")
    assert hint in response.get_json()["detail"]


def test_demo_reports_and_filters_refuse_bad_input(client):
    """An oversized report is 413 before its body is read; bad reports and filters are 400."""
    assert_error(client.post("/api/client-errors", data="{" * 20_000, content_type="application/json"),
                 413, "too_large")
    response = client.post("/api/client-errors", json={"message": ""})
    assert_error(response, 400, "invalid_request")
    assert '{"message": "..."}' in response.get_json()["detail"]
    assert_error(client.get("/api/incidents?status=shut"), 400, "invalid_request")
    assert client.get("/api/incidents?status=").status_code == 200


@pytest.mark.parametrize("method,path,body", ADMIN_CALLS)
def test_admin_refuses_without_a_configured_token(app_factory, admin, method, path, body):
    """No ADMIN_TOKEN: 403 telling the operator how to set one, whatever is sent."""
    client = app_factory(ADMIN_TOKEN=None).test_client()
    response = getattr(client, method)(path, json=body, headers=admin)
    assert_error(response, 403, "forbidden")
    assert "ADMIN_TOKEN" in response.get_json()["detail"]


def test_config_change_applies_and_is_recorded(app, client, admin):
    """PUT changes the limits for new borrows and records who changed what."""
    response = client.put(f"/api/config/tools/{TOOL}", headers={**admin, "X-Actor": "presenter"},
                          json={"commit": 10, "max_overage": 10})
    assert response.status_code == 200
    assert (response.get_json()["commit"], response.get_json()["max_overage"]) == (10, 10)
    seats = [borrow(client, user=f"u{i}").get_json() for i in range(10)]
    assert not any(seat["overage"] for seat in seats)
    history = app.extensions["store"].config_history()
    assert {(h["field"], h["old"], h["new"], h["actor"]) for h in history} == \
        {("commit", 5, 10, "presenter"), ("max_overage", 15, 10, "presenter")}


@pytest.mark.parametrize("body", [{}, {"commit": -1}, {"commit": "ten"}, {"commit": 2.5},
                                  {"max_overage": None}, {"overage_cost": -5}])
def test_bad_config_change_is_400(client, admin, body):
    """Invalid settings are refused and change nothing."""
    assert_error(client.put(f"/api/config/tools/{TOOL}", headers=admin, json=body), 400,
                 "invalid_request")
    assert client.get(f"/api/tools/{TOOL}").get_json()["commit"] == 5


def test_config_change_of_unknown_tool_is_404(client, admin):
    """Changing a tool that does not exist answers 404."""
    assert_error(client.put("/api/config/tools/Nope", headers=admin, json={"commit": 1}), 404,
                 "unknown_tool")


def test_lowering_limits_never_revokes_seats(client, admin):
    """Seats in use survive a lower limit; new borrows wait until usage drops below it."""
    seats = [borrow(client, user=f"u{i}").get_json() for i in range(8)]
    client.put(f"/api/config/tools/{TOOL}", headers=admin, json={"commit": 2, "max_overage": 3})
    tool = client.get(f"/api/tools/{TOOL}").get_json()
    assert (tool["in_use"], tool["available"]) == (8, 0)
    assert len(client.get("/api/borrows").get_json()) == 8
    assert_error(borrow(client, user="new"), 409, "exhausted")
    for seat in seats[:4]:
        assert client.post("/api/return", json={"id": seat["id"]}).status_code == 200
    assert borrow(client, user="new").status_code == 201


def test_force_return_frees_every_seat_of_a_user(client, admin):
    """Force-return frees the user's seats on all tools and reports them."""
    mine = [borrow(client, user="ci-bot", tool=tool).get_json()["id"] for tool in (TOOL, TOOL, OTHER)]
    borrow(client, user="alice")
    response = client.post("/api/users/ci-bot/force-return", headers=admin)
    assert response.status_code == 200
    assert response.get_json()["user"] == "ci-bot"
    assert response.get_json()["returned"] == 3
    assert sorted(response.get_json()["ids"]) == sorted(mine)
    assert [b["user"] for b in client.get("/api/borrows").get_json()] == ["alice"]
    assert_error(client.post("/api/return", json={"id": mine[0]}), 409, "already_returned")
    again = client.post("/api/users/ci-bot/force-return", headers=admin).get_json()
    assert again["returned"] == 0


def test_reset_restores_the_demo_state(client, admin):
    """Reset clears borrows and restores the catalog's limits."""
    borrow(client)
    client.put(f"/api/config/tools/{TOOL}", headers=admin, json={"commit": 9})
    assert client.post("/api/reset", headers=admin).status_code == 200
    tool = client.get(f"/api/tools/{TOOL}").get_json()
    assert (tool["commit"], tool["in_use"], tool["overage_cost_total"]) == (5, 0, 0)
    assert client.get("/api/borrows").get_json() == []


def test_probes(app, client):
    """healthz answers while alive; readyz 503 when the database cannot be reached."""
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert client.get("/readyz").status_code == 200
    store = app.extensions["store"]

    def unreachable():
        raise OSError("connection refused")

    store.ping = unreachable
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "database" in response.get_json()["detail"]


def test_openapi_document_matches_the_routes(app, client):
    """Every API route is in /openapi.json with its methods, and nothing more."""
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(re.sub(r"\{(\w+)\}", r"<\1>", path), method.upper())
                  for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "put", "delete", "patch")}
    core = {("/api/tools", "GET"), ("/api/tools/<name>", "GET"), ("/api/borrow", "POST"),
            ("/api/return", "POST"), ("/api/borrows", "GET"),
            ("/api/config/tools/<name>", "PUT"), ("/api/users/<user>/force-return", "POST"),
            ("/api/reset", "POST"), ("/api/alerts/webhook", "POST"), ("/api/alerts", "GET"),
            ("/healthz", "GET"), ("/readyz", "GET")}
    assert core <= documented, core - documented
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule), method)
              for rule in app.url_map.iter_rules() for method in rule.methods
              if method not in ("HEAD", "OPTIONS")}
    assert documented <= served, documented - served
    # Every JSON API route with each of its methods is documented; the HTML pages are not.
    api_served = {(path, method) for path, method in served if path.startswith("/api/")}
    assert api_served <= documented, sorted(api_served - documented)
    assert {path for path, _ in documented if not path.startswith("/api/")} == {"/healthz", "/readyz"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method != "parameters" and ("requestBody" in op or op.get("parameters")):
                # Invalid bodies are 400; only a reused Idempotency-Key is 422.
                reused_key = (method, path) == ("post", "/api/borrow")
                assert "400" in op["responses"] and ("422" not in op["responses"] or reused_key), \
                    (method, path)
    admin_ops = [("put", "/api/faults/{name}"), ("post", "/api/deployments"), ("post", "/api/deployments/rollback"),
                 ("post", "/api/demo/marks"), ("post", "/api/incidents"), ("patch", "/api/incidents/{incident_id}")]
    for method, path in admin_ops:
        op = spec["paths"][path][method]
        assert op.get("security") and {"401", "403"} <= set(op["responses"]), (method, path)
    borrow_op = spec["paths"]["/api/borrow"]["post"]
    assert {"201", "400", "404", "409"} <= set(borrow_op["responses"])
    assert borrow_op["requestBody"]
    assert "422" in borrow_op["responses"]  # a reused Idempotency-Key, never a bad body
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in borrow_op["parameters"])
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error", "detail"}
    admin_op = spec["paths"]["/api/reset"]["post"]
    assert admin_op.get("security")
