"""A folder and the three dashboards in the stack's Grafana, pointed at the stack's own datasources.

Grafana's HTTP API: `GET /api/datasources` (every datasource: uid, name, type, url), `GET
/api/folders/{uid}` (404 when absent), `POST /api/folders` `{uid, title}`, `GET
/api/dashboards/uid/{uid}` (`{dashboard, meta.folderUid}`, 404 when absent) and `POST
/api/dashboards/db` `{dashboard, folderUid, overwrite, message}`. The dashboards are the
generated JSON with only their datasource references changed: the `DS_PROMETHEUS` and `DS_LOKI`
variables' current value (uid and name) and the alert list's datasource filter (a name).
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from license_demo.cloud.api import Api, CloudError
from license_demo.cloud.sources import DASHBOARDS_DIR

FOLDER_UID = "license-server"
FOLDER_TITLE = "License Server"
# Fields Grafana manages itself on every save.
SERVER_FIELDS = ("id", "version")
VARIABLES = {"prometheus": "DS_PROMETHEUS", "loki": "DS_LOKI"}


@dataclass(frozen=True)
class Datasource:
    """One Grafana datasource as the dashboards refer to it."""

    uid: str
    name: str
    type: str


def grafana(url: str, token: str) -> Api:
    """Grafana's HTTP API with a service account token."""
    return Api("Grafana", url, "GRAFANA_URL", "GRAFANA_TOKEN (a service account token with the Admin role)",
               bearer=token)


def generated_dashboards() -> dict[str, dict]:
    """The committed generated dashboards, uid → JSON."""
    found = {}
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        dashboard = json.loads(path.read_text())
        found[dashboard["uid"]] = dashboard
    return found


def pick(datasources: list[dict], kind: str, url: str, uid: str | None) -> Datasource:
    """The datasource of `kind` (prometheus, loki): `uid` when given, else the one whose URL is the stack's.

    Grafana Cloud provisions several datasources of each type (usage, alert state history);
    the one to use serves the endpoint the settings name. CloudError lists the candidates.
    """
    of_kind = [d for d in datasources if d.get("type") == kind]
    if uid:
        chosen = [d for d in of_kind if d.get("uid") == uid]
    else:
        chosen = [d for d in of_kind if url and d.get("url", "").rstrip("/") == url.rstrip("/")]
        chosen = chosen or (of_kind if len(of_kind) == 1 else [])
    if len(chosen) == 1:
        return Datasource(chosen[0]["uid"], chosen[0]["name"], kind)
    candidates = ", ".join(f"{d['uid']} ({d['name']}, {d.get('url', '')})" for d in of_kind) or "none"
    option = f"--{kind}-datasource UID"
    raise CloudError(f"GET /api/datasources: no single {kind} datasource "
                     + (f"with uid {uid}" if uid else f"serves {url or 'the stack'}")
                     + f"; candidates: {candidates}. Pass {option} to choose one")


def for_stack(dashboard: dict, datasources: dict[str, Datasource]) -> dict:
    """`dashboard` with its datasource references pointing at `datasources` (kind → Datasource)."""
    result = copy.deepcopy(dashboard)
    for variable in result.get("templating", {}).get("list", []):
        for kind, name in VARIABLES.items():
            if variable.get("type") == "datasource" and variable.get("name") == name:
                chosen = datasources[kind]
                variable["current"] = {**variable.get("current", {}), "text": chosen.name, "value": chosen.uid}
    for panel in _panels(result.get("panels", [])):
        if panel.get("type") == "alertlist" and panel.get("options", {}).get("datasource"):
            panel["options"]["datasource"] = datasources["prometheus"].name
    return result


def _panels(panels: list[dict]):
    """Every panel, those inside rows included."""
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def comparable(dashboard: dict) -> dict:
    """A dashboard without the fields Grafana sets on save."""
    return {k: v for k, v in dashboard.items() if k not in SERVER_FIELDS}


def folder_missing(api: Api, uid: str = FOLDER_UID) -> bool:
    """Whether the folder still has to be created."""
    return api.call("GET", f"/api/folders/{uid}", ok=(200, 404)).status_code == 404


def create_folder(api: Api, uid: str = FOLDER_UID, title: str = FOLDER_TITLE) -> None:
    """Create the folder."""
    api.call("POST", "/api/folders", json={"uid": uid, "title": title})


def dashboard_change(api: Api, wanted: dict, folder_uid: str = FOLDER_UID) -> str | None:
    """"create", "update" (content or folder differs) or None when Grafana holds `wanted` already."""
    answer = api.call("GET", f"/api/dashboards/uid/{wanted['uid']}", ok=(200, 404))
    if answer.status_code == 404:
        return "create"
    stored = api.parse(answer)
    same = (comparable(stored.get("dashboard", {})) == comparable(wanted)
            and stored.get("meta", {}).get("folderUid") == folder_uid)
    return None if same else "update"


def save_dashboard(api: Api, wanted: dict, folder_uid: str = FOLDER_UID) -> None:
    """Save (create or overwrite) one dashboard into the folder, exactly as given."""
    body = {"dashboard": wanted, "folderUid": folder_uid, "overwrite": True,
            "message": "license-demo cloud: generated dashboard"}
    api.call("POST", "/api/dashboards/db", json=body)
