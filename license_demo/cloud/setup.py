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
    replace_alertmanager: bool = False


@dataclass
class Outcome:
    """The changes to make, planned from reads only, then made (not in a dry run) one line each."""

    dry_run: bool
    out: Callable[[str], None] = print
    planned: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    @property
    def changes(self) -> list[str]:
        """One line per change."""
        return [line for line, _apply in self.planned]

    def change(self, line: str, apply: Callable[[], None]) -> None:
        """Plan one change."""
        self.planned.append((line, apply))

    def make(self) -> "Outcome":
        """Make the planned changes in order (a dry run only lists them), saying each."""
        for line, apply in self.planned:
            if not self.dry_run:
                apply()
            self.out(f"  ~ would {line}" if self.dry_run else f"  ✓ {line}")
        return self


def run(settings: CloudSettings, values: dict, options: Options, out: Callable[[str], None] = print) -> Outcome:
    """Datasources, folder, dashboards, rules, Alertmanager: all compared first, then only what differs written.

    Raises CloudError (endpoint, status, what to do) at the first failing call; a refusal found
    while comparing (a missing datasource, another Alertmanager configuration) comes before any write.
    """
    outcome = Outcome(options.dry_run, out)
    change = outcome.change
    grafana = grafana_setup.grafana(settings.grafana_url, settings.grafana_token)
    out(f"Comparing with Grafana {settings.grafana_url}, the ruler at {settings.prometheus_url} and the "
        f"Alertmanager at {settings.alertmanager_url}")
    found = grafana.parse(grafana.call("GET", "/api/datasources"))
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
            change(f"{what} dashboard {uid}",
                   lambda w=wanted: grafana_setup.save_dashboard(grafana, w, options.folder_uid))

    ruler = rule_groups.ruler(settings.prometheus_url, settings.prometheus_auth, settings.prometheus_user)
    groups = rule_groups.production_groups(settings.grafana_url, datasources["loki"].uid)
    for what, group in rule_groups.plan(ruler, groups, options.namespace):
        change(f"{what} rule group {group['name']}", lambda g=group: rule_groups.write(ruler, g, options.namespace))

    alertmanager = alertmanager_setup.config_api(settings.alertmanager_config_api, settings.alertmanager_auth,
                                                 settings.alertmanager_user)
    wanted = alertmanager_setup.render(settings.server_url, {**values, "ALERT_WEBHOOK_TOKEN": settings.webhook_token})
    differs = alertmanager_setup.differences(alertmanager, wanted, options.replace_alertmanager)
    if differs:
        change(f"store the Alertmanager configuration ({', '.join(differs)}; webhook "
               f"{settings.server_url}/api/alerts/webhook)", lambda: alertmanager_setup.write(alertmanager, wanted))
    return outcome.make()


def teardown(settings: CloudSettings, options: Options, out: Callable[[str], None] = print) -> Outcome:
    """Remove what `run` set up: the folder with its dashboards, the rule namespace, the Alertmanager configuration."""
    outcome = Outcome(options.dry_run, out)
    grafana = grafana_setup.grafana(settings.grafana_url, settings.grafana_token)
    out(f"Looking in Grafana {settings.grafana_url}, the ruler at {settings.prometheus_url} and the "
        f"Alertmanager at {settings.alertmanager_url}")
    if not grafana_setup.folder_missing(grafana, options.folder_uid):
        outcome.change(f"delete folder {options.folder_uid} and its dashboards",
                       lambda: grafana.call("DELETE", f"/api/folders/{options.folder_uid}"))
    ruler = rule_groups.ruler(settings.prometheus_url, settings.prometheus_auth, settings.prometheus_user)
    if rule_groups.namespace_exists(ruler, options.namespace):
        outcome.change(f"delete rule namespace {options.namespace}",
                       lambda: rule_groups.delete_namespace(ruler, options.namespace))
    alertmanager = alertmanager_setup.config_api(settings.alertmanager_config_api, settings.alertmanager_auth,
                                                 settings.alertmanager_user)
    if alertmanager_setup.stored(alertmanager):
        outcome.change("delete the Alertmanager configuration", lambda: alertmanager_setup.delete(alertmanager))
    return outcome.make()
