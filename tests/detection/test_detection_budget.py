"""The demo profile's detection floor, read from the rendered configs, stays within the story's budget."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from license_demo import deploy_configs

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "prometheus"


def _render_demo_rules(out_dir: Path, hold: str) -> None:
    """Render demo.yml from rules.src.yml with HighOverageRate's demo `for:` set to `hold`."""
    spec = importlib.util.spec_from_file_location("generate_rules",
                                                  PROMETHEUS_DIR / "generate_rules.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    source, _ = generator.load_sources()
    for group in source["rule_groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "HighOverageRate":
                rule["for"] = {**rule["for"], "demo": hold}
    (out_dir / "demo.yml").write_text(yaml.safe_dump(generator.render_rules(source, "demo")))


def test_demo_detection_floor_is_within_the_budget():
    """scrape + evaluation + `for:` + group_wait of the rendered demo configs <= the budget."""
    parts = deploy_configs.detection_floor("demo")
    assert set(parts) == {"scrape", "evaluation", "for", "group_wait"}
    assert all(value > 0 for value in parts.values()), parts
    floor = sum(parts.values())
    assert floor <= deploy_configs.DETECTION_BUDGET_SECONDS, (
        f"demo detection floor {floor:g} s {parts} exceeds the story's budget of "
        f"{deploy_configs.DETECTION_BUDGET_SECONDS:g} s")


def test_a_slower_for_breaks_the_budget(tmp_path):
    """The floor follows the rendered rule file: HighOverageRate with `for: 60s` is over budget."""
    _render_demo_rules(tmp_path, "60s")
    parts = deploy_configs.detection_floor("demo", rules_dir=tmp_path)
    assert parts["for"] == 60
    assert sum(parts.values()) > deploy_configs.DETECTION_BUDGET_SECONDS
