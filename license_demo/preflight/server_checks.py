"""The license server: answers, admin token, database writable, story's starting state."""
from __future__ import annotations

import uuid
from urllib.parse import quote

import requests
import yaml

from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import PROBE_TOOL, STORY_TOOL, TIMEOUT, Targets, get, short_error
from license_demo.stack.baseline import is_baseline_seat

RESET_FIX = "run `license-demo preflight --reset` (or `license-demo reset`) to restore it"


def _call(targets: Targets, method: str, path: str, admin: bool = False, **kwargs) -> requests.Response:
    """One request to the server; admin calls carry the bearer token."""
    headers = kwargs.pop("headers", {})
    if admin:
        headers["Authorization"] = f"Bearer {targets.admin_token}"
    return requests.request(method, targets.server + path, headers=headers, timeout=TIMEOUT, **kwargs)


def check_answers(targets: Targets, report: Report) -> bool:
    """The process answers /healthz and its database /readyz."""
    try:
        alive = get(targets.server + "/healthz")
        ready = get(targets.server + "/readyz")
    except requests.RequestException as exc:
        report.fail("server.answers", f"license server at {targets.server} unreachable ({short_error(exc)})",
                    "start it (`license-demo stack` native, `make up` compose, `fly deploy` on Fly.io) "
                    "or point --server / LICENSE_SERVER_URL at it")
        return False
    if alive.status_code != 200:
        report.fail("server.answers", f"{targets.server}/healthz answered HTTP {alive.status_code}",
                    "this URL is not the license server: check --server / LICENSE_SERVER_URL")
        return False
    if ready.status_code != 200:
        report.fail("server.answers", f"{targets.server}/readyz answered HTTP {ready.status_code}: "
                                      f"{ready.text[:200]}",
                    "the server cannot reach its database: check DATABASE_URL and that the database runs")
        return False
    report.ok("server.answers", f"license server answers at {targets.server} (database reachable)")
    return True


def check_admin_token(targets: Targets, report: Report) -> bool:
    """The token is the server's: an empty config update is refused as a bad body (400), not 401."""
    if not targets.admin_token:
        report.fail("server.admin_token", "no admin token given",
                    "pass --admin-token or set ADMIN_TOKEN (`license-demo stack` and `make demo` print it); "
                    "/config and the fix in part 5 need it")
        return False
    # An empty body never changes anything; the server checks the token before the body.
    answer = _call(targets, "PUT", f"/api/config/tools/{quote(STORY_TOOL, safe='')}", admin=True, json={})
    if answer.status_code == 400:
        report.ok("server.admin_token", "admin token accepted")
        return True
    if answer.status_code == 403:
        report.fail("server.admin_token", "the server runs without an admin token (HTTP 403)",
                    "restart the server with ADMIN_TOKEN set, e.g. ADMIN_TOKEN=$(openssl rand -hex 16)")
    else:
        report.fail("server.admin_token", f"admin token refused (HTTP {answer.status_code})",
                    "use the token the server was started with: --admin-token or ADMIN_TOKEN "
                    "(for Fly.io: `fly secrets list` shows it is set; `fly ssh console -C env` shows it)")
    return False


def reset(targets: Targets, report: Report) -> None:
    """Restore the story's starting state: POST /api/reset and every fault off."""
    answer = _call(targets, "POST", "/api/reset", admin=True)
    if answer.status_code != 200:
        report.fail("server.reset", f"reset refused (HTTP {answer.status_code}: {answer.text[:200]})",
                    "fix the admin token above, then run again with --reset")
        return
    for fault in get(targets.server + "/api/faults").json():
        if fault.get("variant", "off") != "off":
            _call(targets, "PUT", f"/api/faults/{fault['name']}", admin=True, json={"variant": "off"})
    report.ok("server.reset", "reset: catalog from tools.yaml, no borrows, every fault off")


def check_database_writable(targets: Targets, report: Report) -> None:
    """One synthetic borrow and its return, outside the story's tool."""
    headers = {"X-Synthetic": "true", "X-Request-ID": f"preflight-{uuid.uuid4().hex[:12]}"}
    borrowed = _call(targets, "POST", "/api/borrow", headers=dict(headers),
                     json={"tool": PROBE_TOOL, "user": "preflight-probe", "lease_seconds": 60})
    if borrowed.status_code != 201:
        report.fail("server.database", f"a probe borrow of {PROBE_TOOL} failed (HTTP {borrowed.status_code}: "
                                       f"{borrowed.text[:200]})",
                    "the database refuses writes: check disk space and write permission for DATABASE_URL "
                    "(SQLite: the data folder), or a fault switched on (see below)")
        return
    returned = _call(targets, "POST", "/api/return", headers=dict(headers), json={"id": borrowed.json()["id"]})
    if returned.status_code != 200:
        report.fail("server.database", f"returning the probe seat failed (HTTP {returned.status_code})",
                    "the database refuses writes: check the server's log for the error")
        return
    report.ok("server.database", "database writable (one synthetic borrow and return)")


def config_fields(targets: Targets) -> tuple[str, ...]:
    """The tool settings a person can change, as the server declares them: the body of
    `PUT /api/config/tools/{name}` in its OpenAPI document."""
    spec = get(targets.server + "/openapi.json").json()
    body = spec["paths"]["/api/config/tools/{name}"]["put"]["requestBody"]["content"]["application/json"]
    schema = spec["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[-1]]
    return tuple(schema["properties"])


def _story_catalog(targets: Targets, fields: tuple[str, ...]) -> dict[str, dict]:
    """The starting configuration of the story, by tool name."""
    tools = yaml.safe_load(targets.tools_file.read_text())["tools"]
    return {tool["name"]: {k: tool[k] for k in fields} for tool in tools}


def check_config(targets: Targets, report: Report, tools: list[dict]) -> None:
    """Every tool at its tools.yaml values, none missing or extra."""
    try:
        fields = config_fields(targets)
    except (requests.RequestException, ValueError, KeyError, TypeError, AttributeError) as exc:
        report.fail("server.config", f"cannot read the tool settings from {targets.server}/openapi.json "
                                     f"({short_error(exc)})",
                    "check that this URL is the license server and that it answers GET /openapi.json")
        return
    story = _story_catalog(targets, fields)
    live = {tool["name"]: tool for tool in tools}
    differences = [f"{name} missing" for name in story if name not in live]
    differences += [f"{name} not in the story" for name in live if name not in story]
    for name, wanted in story.items():
        for key, value in wanted.items():
            if name in live and float(live[name][key]) != float(value):
                differences.append(f"{name} {key} {live[name][key]:g} (story: {value:g})")
    since = _last_reset(targets)
    if differences:
        report.fail("server.config", "configuration differs from the story's start: " + "; ".join(differences[:4])
                    + (f" and {len(differences) - 4} more" if len(differences) > 4 else ""), RESET_FIX)
    else:
        report.ok("server.config", f"configuration at the story's starting values ({len(story)} tools"
                                   f"{', last reset ' + since if since else ''})")


def _last_reset(targets: Targets) -> str:
    """`last_reset_at` from GET /api/status, when the server reports it."""
    try:
        answer = get(targets.server + "/api/status")
        return str(answer.json().get("last_reset_at") or "") if answer.status_code == 200 else ""
    except (requests.RequestException, ValueError, AttributeError):
        return ""


def check_seats(targets: Targets, report: Report, tools: list[dict]) -> None:
    """No seat held, but the native stack's baseline engineers' (within commit: normal operations)."""
    if not sum(tool["in_use"] for tool in tools):
        report.ok("server.seats", "no seats held")
        return
    held = get(targets.server + "/api/borrows").json()
    baseline = [b for b in held if targets.baseline and is_baseline_seat(b)]
    others = [b for b in held if b not in baseline]
    if not others:
        report.ok("server.seats", f"{len(baseline)} seats held by the stack's baseline engineers "
                                  f"({_people(baseline)}), within commit: normal operations")
        return
    overage = sum(1 for b in others if b.get("overage"))
    report.fail("server.seats", f"{len(others)} seats held{f', {overage} in overage' if overage else ''} "
                                f"(by {_people(others)})"
                                + (f", besides {len(baseline)} of the baseline" if baseline else ""),
                f"{RESET_FIX}, or free one user's seats: curl -X POST -H 'Authorization: Bearer $ADMIN_TOKEN' "
                f"{targets.server}/api/users/<user>/force-return")


def _people(borrows: list[dict]) -> str:
    """The users holding `borrows`, five at most."""
    users = sorted({b["user"] for b in borrows})
    return ", ".join(users[:5]) + (" and others" if len(users) > 5 else "")


def check_faults(targets: Targets, report: Report) -> None:
    """No fault switched on."""
    on = [f"{fault['name']}={fault['variant']}" for fault in get(targets.server + "/api/faults").json()
          if fault.get("variant", "off") != "off"]
    if on:
        report.fail("server.faults", f"fault switched on: {', '.join(on)}",
                    f"{RESET_FIX} (every fault off), or PUT /api/faults/<name> with {{\"variant\": \"off\"}}")
    else:
        report.ok("server.faults", "no fault switched on")


def run(targets: Targets, report: Report) -> bool:
    """Every server check in order; False when the server does not answer at all."""
    report.section(f"License server {targets.server}")
    if not check_answers(targets, report):
        return False
    admin = check_admin_token(targets, report)
    if targets.reset:
        if admin:
            reset(targets, report)
        else:
            report.skip("server.reset", "--reset skipped: it needs the admin token")
    check_database_writable(targets, report)
    tools = get(targets.server + "/api/tools").json()
    check_config(targets, report, tools)
    check_seats(targets, report, tools)
    check_faults(targets, report)
    return True
