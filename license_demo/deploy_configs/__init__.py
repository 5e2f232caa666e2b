"""The Prometheus and Alertmanager configurations of each deployment, rendered from the committed sources.

prometheus/prometheus.yml and alertmanager/alertmanager.yml are written for the compose
deployment (service names, demo profile). Every other copy (the native stack's loopback
ports, the hosted Alertmanager of the cloud deployment, the production profile, email and
Slack switched on from the environment) is rendered from them here, so they cannot drift apart.

- `addresses`: where each deployment's services listen (`COMPOSE`, `native_addresses`)
- `timings`: each profile's intervals and waits, the detection floor they give
- `prometheus`, `alertmanager`: the renderers, one per configuration file
- `files`: writing them, the native rule file and the secrets into folders
- `__main__`: `python -m license_demo.deploy_configs --target compose|native|cloud`
"""
from license_demo.deploy_configs.addresses import (ALERTMANAGER_SOURCE, COMPOSE, RULES_DIR, TEMPLATES_DIR,
                                                   Addresses, native_addresses)
from license_demo.deploy_configs.alertmanager import render_alertmanager, render_cloud_alertmanager
from license_demo.deploy_configs.files import (write_configs, write_native_rules, write_secret, write_secrets,
                                               write_webhook_token)
from license_demo.deploy_configs.prometheus import native_links, render_prometheus
from license_demo.deploy_configs.timings import DETECTION_BUDGET_SECONDS, PROFILES, detection_floor

__all__ = ["ALERTMANAGER_SOURCE", "COMPOSE", "DETECTION_BUDGET_SECONDS", "PROFILES", "RULES_DIR", "TEMPLATES_DIR",
           "Addresses", "detection_floor", "native_addresses", "native_links", "render_alertmanager",
           "render_cloud_alertmanager", "render_prometheus", "write_configs", "write_native_rules",
           "write_secret", "write_secrets", "write_webhook_token"]
