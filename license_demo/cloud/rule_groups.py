"""The production rules, with the stack's Grafana in their links, into the Prometheus-compatible ruler.

Mimir's ruler configuration API (Grafana Cloud's Prometheus): `GET
<prefix>/config/v1/rules/{namespace}/{group}` answers one group as YAML (404 when absent),
`POST <prefix>/config/v1/rules/{namespace}` with one group as YAML creates or replaces it (202);
`GET`/`DELETE <prefix>/config/v1/rules/{namespace}` list (404 when empty) or delete a namespace (202).
"""
from __future__ import annotations

from urllib.parse import quote

import yaml

from license_demo.cloud.api import Api
from license_demo.cloud.sources import duration_seconds, rule_generator

PROFILE = "production"
NAMESPACE = "license-server"
SCOPE = "rules:read and rules:write"


def production_groups(grafana_url: str, loki_datasource_uid: str) -> list[dict]:
    """The production rule groups as the generator renders them for this stack.

    The links in the alerts open `grafana_url` and its Loki datasource; the rule source in the
    repository stays as it is (its values serve the compose stack).
    """
    generator = rule_generator()
    source, _tests = generator.load_sources()
    source["settings"] = {**source["settings"], "grafana_url": grafana_url,
                          "loki_datasource_uid": loki_datasource_uid}
    return generator.render_rules(source, PROFILE)["groups"]


def normalized(group: dict) -> dict:
    """A group as the ruler keeps it: durations compared as seconds, empty fields dropped."""
    rules = []
    for rule in group.get("rules", []):
        entry = {k: v for k, v in rule.items() if v not in (None, "", {}, [])}
        if "for" in entry:
            entry["for"] = duration_seconds(str(entry["for"]))
        rules.append(entry)
    result = {"name": group["name"], "rules": rules}
    if group.get("interval"):
        result["interval"] = duration_seconds(str(group["interval"]))
    return result


def ruler(prometheus_url: str, auth: tuple[str, str], org_id: str) -> Api:
    """The ruler configuration API under the stack's Prometheus prefix."""
    return Api("Grafana Cloud Prometheus (ruler)", prometheus_url + "/config/v1/rules", "PROMETHEUS_URL",
               "PROMETHEUS_USER and PROMETHEUS_PASSWORD", auth=auth, headers={"X-Scope-OrgID": org_id})


def plan(api: Api, groups: list[dict], namespace: str = NAMESPACE) -> list[tuple[str, dict]]:
    """(what, group) for every group that must be written: "create" or "update"; [] when all match."""
    changes = []
    for group in groups:
        answer = api.call("GET", f"/{quote(namespace, safe='')}/{quote(group['name'], safe='')}",
                          ok=(200, 404), scope=SCOPE)
        if answer.status_code == 404:
            changes.append(("create", group))
        elif normalized(api.parse(answer, "yaml") or {"name": group["name"]}) != normalized(group):
            changes.append(("update", group))
    return changes


def write(api: Api, group: dict, namespace: str = NAMESPACE) -> None:
    """Create or replace one group."""
    body = yaml.safe_dump(group, sort_keys=False, allow_unicode=True, width=1000)
    api.call("POST", f"/{quote(namespace, safe='')}", ok=(200, 201, 202), scope=SCOPE,
             data=body.encode(), headers={"Content-Type": "application/yaml"})


def namespace_exists(api: Api, namespace: str = NAMESPACE) -> bool:
    """Whether the namespace holds any group."""
    return api.call("GET", f"/{quote(namespace, safe='')}", ok=(200, 404), scope=SCOPE).status_code == 200


def delete_namespace(api: Api, namespace: str = NAMESPACE) -> None:
    """Delete every group of the namespace."""
    api.call("DELETE", f"/{quote(namespace, safe='')}", ok=(200, 202), scope=SCOPE)
