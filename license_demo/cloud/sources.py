"""What the cloud path takes from the rest of the repository, in one place.

The production rules from `prometheus/generate_rules.py` (a script, loaded by its path), the
Alertmanager configuration from the renderer of the deployments' configurations and its
templates, the generated dashboards, and the one parser of Prometheus durations.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from rule_source.durations import duration_seconds
from license_demo.deploy_configs import render_cloud_alertmanager

REPO = Path(__file__).resolve().parents[2]
RULE_GENERATOR = REPO / "prometheus" / "generate_rules.py"
ALERTMANAGER_TEMPLATES = REPO / "alertmanager" / "templates"
DASHBOARDS_DIR = REPO / "grafana" / "provisioning" / "dashboards" / "json"

__all__ = ["ALERTMANAGER_TEMPLATES", "DASHBOARDS_DIR", "duration_seconds", "render_cloud_alertmanager",
           "rule_generator"]


def rule_generator():
    """The rule generator module (`load_sources`, `render_rules`)."""
    spec = importlib.util.spec_from_file_location("generate_rules", RULE_GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
