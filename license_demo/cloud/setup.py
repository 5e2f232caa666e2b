"""Bring a Grafana Cloud stack to what the repository defines, step by step, changing only what differs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from license_demo.cloud import alertmanager_setup, grafana_setup, rule_groups
from license_demo.cloud.settings import CloudSettings


@dataclass
class Options:
    """What `license-demo cloud` was asked to do."""

    dry_run: bool = False
    namespace: str = rule_groups.NAMESPACE
    folder_uid: str = grafana_setup.FOLDER_UID
    prometheus_datasource: str | None = None
    loki_datasource: str | None = None


@dataclass
class Outcome:
    """The changes made (or, in a dry run, to make), one line each, printed as they happen."""

    dry_run: bool
    out: Callable[[str], None] = print
    changes: list[str] = field(default_factory=list)

    def change(self, line: str, apply: Callable[[], None]) -> None:
        """Make one change (not in a dry run) and say so."""
        self.changes.append(line)
        if not self.dry_run:
            apply()
        self.out(f"  ~ would {line}" if self.dry_run else f"  ✓ {line}")


def run(settings: CloudSettings, values: dict, options: Options, out: Callable[[str], None] = print) -> Outcome:
    """Datasources, folder, dashboards, rules, Alertmanager: each compared first, written only when it differs.

    Raises CloudError (endpoint, status, what to do) at the first failing call.
    """
    outcome = Outcome(options.dry_run, out)
    change = outcome.change
    grafana = grafana_setup.grafana(settings.grafana_url, settings.grafana_token)
    out(f"Grafana {settings.grafana_url}")
    found = grafana.call("GET", "/api/datasources").json()
    datasources = {
        "prometheus": grafana_setup.pick(found, "prometheus", settings.prometheus_url, options.prometheus_datasource),
        "loki": grafana_setup.pick(found, "loki", settings.loki_url, options.loki_datasource)}
    out("  datasources: " + ", ".join(f"{kind} {ds.uid} ({ds.name})" for kind, ds in datasources.items()))
    if grafana_setup.folder_missing(grafana, options.folder_uid):
        change(f"create folder {options.folder_uid}",
               lambda: grafana_setup.create_folder(grafana, options.folder_uid))
    for uid, dashboard in grafana_setup.generated_dashboards().items():
        wanted = grafana_setup.for_stack(dashboard, datasources)
        what = grafana_setup.dashboard_change(grafana, wanted, options.folder_uid)
        if what:
            change(f"{what} dashboard {uid}", lambda w=wanted: grafana_setup.save_dashboard(grafana, w, options.folder_uid))

    out(f"Ruler {settings.prometheus_url} (namespace {options.namespace})")
    ruler = rule_groups.ruler(settings.prometheus_url, settings.prometheus_auth, settings.prometheus_user)
    groups = rule_groups.production_groups(settings.grafana_url, datasources["loki"].uid)
    for what, group in rule_groups.plan(ruler, groups, options.namespace):
        change(f"{what} rule group {group['name']}", lambda g=group: rule_groups.write(ruler, g, options.namespace))

    out(f"Alertmanager {settings.alertmanager_url}")
    alertmanager = alertmanager_setup.config_api(settings.alertmanager_config_api, settings.alertmanager_auth,
                                                 settings.alertmanager_user)
    wanted = alertmanager_setup.render(settings.server_url, {**values, "ALERT_WEBHOOK_TOKEN": settings.webhook_token})
    differs = alertmanager_setup.differences(alertmanager, wanted)
    if differs:
        change(f"store the Alertmanager configuration ({', '.join(differs)}; webhook "
               f"{settings.server_url}/api/alerts/webhook)", lambda: alertmanager_setup.write(alertmanager, wanted))
    return outcome


def teardown(settings: CloudSettings, options: Options, out: Callable[[str], None] = print) -> Outcome:
    """Remove what `run` set up: the folder with its dashboards, the rule namespace, the Alertmanager configuration."""
    outcome = Outcome(options.dry_run, out)
    grafana = grafana_setup.grafana(settings.grafana_url, settings.grafana_token)
    out(f"Grafana {settings.grafana_url}")
    if not grafana_setup.folder_missing(grafana, options.folder_uid):
        outcome.change(f"delete folder {options.folder_uid} and its dashboards",
                       lambda: grafana.call("DELETE", f"/api/folders/{options.folder_uid}"))
    out(f"Ruler {settings.prometheus_url} (namespace {options.namespace})")
    ruler = rule_groups.ruler(settings.prometheus_url, settings.prometheus_auth, settings.prometheus_user)
    if rule_groups.namespace_exists(ruler, options.namespace):
        outcome.change(f"delete rule namespace {options.namespace}",
                       lambda: rule_groups.delete_namespace(ruler, options.namespace))
    out(f"Alertmanager {settings.alertmanager_url}")
    alertmanager = alertmanager_setup.config_api(settings.alertmanager_config_api, settings.alertmanager_auth,
                                                 settings.alertmanager_user)
    if alertmanager_setup.stored(alertmanager):
        outcome.change("delete the Alertmanager configuration", lambda: alertmanager_setup.delete(alertmanager))
    return outcome
