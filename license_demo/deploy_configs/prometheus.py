"""prometheus.yml for a deployment and profile, and the native stack's copy of the rule file."""
from __future__ import annotations

import yaml

from license_demo.deploy_configs.addresses import PROMETHEUS_SOURCE, Addresses, swap
from license_demo.deploy_configs.timings import PROFILES


def render_prometheus(addresses: Addresses, profile: str = "demo") -> dict:
    """Return prometheus.yml for `addresses` and `profile`."""
    timings = PROFILES[profile]
    config = yaml.safe_load(PROMETHEUS_SOURCE.read_text())
    config["global"]["scrape_interval"] = timings["scrape_interval"]
    config["global"]["evaluation_interval"] = timings["evaluation_interval"]
    config["rule_files"] = [f"{addresses.rules_dir}/{timings['rules']}"]
    for manager in config["alerting"]["alertmanagers"]:
        for static in manager["static_configs"]:
            static["targets"] = [swap(t, addresses) for t in static["targets"]]
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [swap(t, addresses) for t in static["targets"]]
    return config


def native_links(rules: dict, server_url: str) -> dict:
    """Point the alerts' dashboard and logs links at the license server's own pages.

    The native stack runs no Grafana or Loki: the dashboard link opens the server's
    /dashboard, the logs link the server's record of the seats concerned (active borrows of
    the alert's tool or user). runbook_url stays a path in the repository.
    """
    for group in rules["groups"]:
        for rule in group["rules"]:
            annotations = rule.get("annotations")
            if not annotations or "alert" not in rule:
                continue
            logs = annotations.get("logs", "")
            query = ("?tool={{ $labels.tool | urlquery }}" if "$labels.tool" in logs else
                     "?user={{ $labels.user | urlquery }}" if "$labels.user" in logs else "")
            annotations["dashboard"] = f"{server_url}/dashboard"
            annotations["logs"] = f"{server_url}/api/borrows{query}"
    return rules
