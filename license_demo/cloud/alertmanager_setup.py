"""The Alertmanager configuration and its templates, with the app's webhook and its bearer credential.

Mimir's Alertmanager configuration API (Grafana Cloud's Alertmanager): `GET /api/v1/alerts`
answers `{template_files, alertmanager_config}` as YAML (404 while none is stored), `POST
/api/v1/alerts` stores the same shape (201), `DELETE /api/v1/alerts` removes it (200). The
configuration is rendered from the committed alertmanager/ sources; it holds the webhook token
(and Slack or SMTP secrets when given), so it is sent, compared, and never printed or written
to disk.
"""
from __future__ import annotations

import yaml

from license_demo.cloud.api import Api, CloudError, endpoint
from license_demo.cloud.sources import ALERTMANAGER_TEMPLATES, render_cloud_alertmanager

WEBHOOK_PATH = "/api/alerts/webhook"
SCOPE = "alerts:read and alerts:write"


def render(server_url: str, values: dict) -> dict:
    """{template_files, alertmanager_config} for the app at `server_url`.

    `values` holds ALERT_WEBHOOK_TOKEN and, when wanted, the Slack and SMTP settings.
    """
    config, _notes = render_cloud_alertmanager(server_url, "production", env=values)
    templates = {name: (ALERTMANAGER_TEMPLATES / name).read_text() for name in config.get("templates", [])}
    return {"template_files": templates,
            "alertmanager_config": yaml.safe_dump(config, sort_keys=False, width=1000, allow_unicode=True)}


def config_api(url: str, auth: tuple[str, str], org_id: str) -> Api:
    """The configuration API at the Alertmanager's root."""
    return Api("Grafana Cloud Alertmanager", url, "ALERTMANAGER_URL",
               "ALERTMANAGER_USER and ALERTMANAGER_PASSWORD (default: the PROMETHEUS_ ones)",
               auth=auth, headers={"X-Scope-OrgID": org_id})


def foreign_receivers(config: dict) -> list[str]:
    """Receivers of a configuration that is not the demo's and that would notify someone.

    The demo's configuration notifies the license server's webhook; an empty fallback
    configuration notifies nobody. Anything else would be lost by replacing it.
    """
    receivers = config.get("receivers") or []
    hooks = [hook.get("url", "") for r in receivers for hook in r.get("webhook_configs") or []]
    if any(url.endswith(WEBHOOK_PATH) for url in hooks):
        return []
    return [r.get("name", "?") for r in receivers
            if any(value for key, value in r.items() if key.endswith("_configs"))]


def differences(api: Api, wanted: dict, replace: bool = False) -> list[str]:
    """What differs between the stored configuration and `wanted` (top-level keys and template names).

    CloudError when another configuration with live receivers is stored, unless `replace`.
    """
    answer = api.call("GET", "", ok=(200, 404), scope=SCOPE)
    if answer.status_code == 404:
        return ["no configuration stored yet"]
    stored = api.parse(answer, "yaml") or {}
    have = yaml.safe_load(stored.get("alertmanager_config") or "") or {}
    others = foreign_receivers(have)
    if others and not replace:
        raise CloudError(f"GET {endpoint(api.base)}: the stack's Alertmanager holds another configuration "
                         f"(receivers {', '.join(others)}), which this would replace; use a stack of its own "
                         "for the demo, or pass --replace-alertmanager to replace it")
    want = yaml.safe_load(wanted["alertmanager_config"])
    changed = [f"`{key}`" for key in sorted(set(have) | set(want)) if have.get(key) != want.get(key)]
    templates = stored.get("template_files") or {}
    changed += [f"template {name}" for name in sorted(set(templates) | set(wanted["template_files"]))
                if templates.get(name) != wanted["template_files"].get(name)]
    return changed


def write(api: Api, wanted: dict) -> None:
    """Store the configuration and templates."""
    body = yaml.safe_dump(wanted, sort_keys=False, width=1000, allow_unicode=True)
    api.call("POST", "", ok=(200, 201), scope=SCOPE, data=body.encode(),
             headers={"Content-Type": "application/yaml"})


def stored(api: Api) -> bool:
    """Whether a configuration is stored."""
    return api.call("GET", "", ok=(200, 404), scope=SCOPE).status_code == 200


def delete(api: Api) -> None:
    """Remove the stored configuration and templates."""
    api.call("DELETE", "", ok=(200, 202), scope=SCOPE)
