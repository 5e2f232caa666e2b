"""Dashboards as current Grafana reads them: thresholds from the rule source, budgets, no legacy keys."""
from __future__ import annotations

import re

import pytest

from dashboard_queries import panels
import rule_source

RULES = rule_source.load()
# A relative Grafana time range ("now-30d") in seconds.
UNITS = {"m": 60, "h": 3600, "d": 86400}


def drawn_thresholds(panel: dict) -> list[float]:
    """Every non-base threshold step of a panel, from its defaults and its overrides."""
    blocks = [panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds")]
    for override in panel.get("fieldConfig", {}).get("overrides", []):
        blocks += [p["value"] for p in override["properties"] if p["id"] == "thresholds"]
    return [step["value"] for block in blocks if block for step in block["steps"][1:]]


def panels_of_series(dashboards: dict, series: str):
    """Panels with a target that reads `series` (a whole metric name, not a prefix)."""
    pattern = re.compile(rf"(?<![\w:]){re.escape(series)}(?![\w:])")
    return [(name, panel) for name, dash in dashboards.items() for panel in panels(dash)
            if any(pattern.search(t.get("expr", "")) for t in panel.get("targets", []))]


def test_alert_series_mapping_matches_the_rules():
    """Each mapped alert compares the mapped series with the mapped setting in its expression."""
    import yaml
    RULES_SOURCE = RULES.path
    source = yaml.safe_load(RULES_SOURCE.read_text())
    exprs = {rule["alert"]: rule["expr"] for group in source["rule_groups"]
             for rule in group["rules"] if "alert" in rule}
    assert RULES.alert_lines, "settings.alert_series is empty"
    for alert, line in RULES.alert_lines.items():
        assert line.series in exprs[alert], (alert, line.series)
        assert f"[[{line.setting}]]" in exprs[alert], (alert, line.setting)


@pytest.mark.parametrize("alert", sorted(RULES.alert_lines))
def test_every_threshold_drawn_equals_its_rule(generated_dashboards, alert):
    """Each alert's threshold is drawn on a panel of its series, and no such panel draws another."""
    line = RULES.alert_lines[alert]
    found = panels_of_series(generated_dashboards, line.series)
    drawing = [(name, p["title"]) for name, p in found if drawn_thresholds(p)]
    assert drawing, f"no panel draws the {alert} threshold on {line.series}"
    for name, panel in found:
        values = drawn_thresholds(panel)
        if values:
            assert values == [line.value], (name, panel["title"], values, line.value)


def test_descriptions_quote_the_rule_thresholds_humanized(generated_dashboards):
    """Descriptions name the thresholds as the rules have them, money with thousands separators."""
    text = " ".join(p.get("description", "") for d in generated_dashboards.values()
                    for p in panels(d))
    burn = RULES.threshold("HighOverageCostBurn")
    assert f"${burn:,.0f}/h" in text
    assert f"{RULES.threshold('HighOverageRate') * 100:g} %" in text
    assert not re.search(r"\$\d{4,}", text), "unformatted dollar amount in a description"


def walk(value, path=""):
    """Yield (path, key, value) for every key of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def test_no_legacy_keys_and_no_nulls(generated_dashboards):
    """No key current Grafana ignores, and null only as a threshold base step."""
    legacy = {"auto", "auto_count", "auto_min", "useTags", "tagsQuery", "tagValuesQuery",
              "time_options"}
    for name, dash in generated_dashboards.items():
        for path, key, value in walk(dash):
            assert key not in legacy, f"{name}{path}.{key}"
            if value is None:
                assert key == "value" and ".steps[" in path, f"{name}{path}.{key} is null"


def test_data_point_budget_suits_each_range(generated_dashboards):
    """Range panels sample at least every scrape on 1 h and every 30 min on 30 days, keeping peaks."""
    for name, dash in generated_dashboards.items():
        amount, unit = re.fullmatch(r"now-(\d+)([mhd])", dash["time"]["from"]).groups()
        seconds = int(amount) * UNITS[unit]
        for panel in panels(dash):
            ranged = [t for t in panel.get("targets", [])
                      if t.get("range") or t.get("queryType") == "range"]
            if not ranged or panel["type"] == "logs":
                assert "maxDataPoints" not in panel or panel["type"] == "logs", panel["title"]
                continue
            step = seconds / panel["maxDataPoints"]
            assert step <= 1800, (name, panel["title"], step)
            assert re.fullmatch(r"\d+[sm]", panel["interval"]), panel["title"]
            if seconds > 86400:
                # On a long range a gauge must keep the highest sample of each step.
                for target in ranged:
                    if "licenses_in_use" in target["expr"]:
                        assert "max_over_time(licenses_in_use" in target["expr"], panel["title"]
                        assert "[$__interval]" in target["expr"], panel["title"]


def test_business_dashboard_shows_overage_before_and_after_a_change(generated_dashboards):
    """An overage-share panel with the HighOverageRate line, and config changes annotated."""
    dash = generated_dashboards["license-business-metrics.json"]
    share = next(p for p in panels(dash) if p["title"].startswith("Overage Share Over Time"))
    assert drawn_thresholds(share) == [RULES.threshold("HighOverageRate")]
    assert share["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"
    assert any(RULES.series("HighOverageRate") in t["expr"] for t in share["targets"])
    changes = next(a for a in dash["annotations"]["list"] if a["name"] == "Config changes")
    assert changes["enable"] and "license_config_last_change_timestamp_seconds" in changes["expr"]
