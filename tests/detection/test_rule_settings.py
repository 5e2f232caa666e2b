"""license_demo.rule_settings, the reader of prometheus/rules.src.yml for the dashboards, investigator and preflight."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from license_demo.rule_settings import RULES_SOURCE, load_rule_settings

RENDERED = [RULES_SOURCE.parent / "rules" / name for name in ("demo.yml", "production.yml")]


@pytest.mark.parametrize("rendered", RENDERED, ids=lambda p: p.name)
def test_alert_names_are_the_alerts_of_each_rendered_profile(rendered: Path):
    """Preflight checks Prometheus for these names: each rendered profile holds exactly them."""
    alerts = {rule["alert"] for group in yaml.safe_load(rendered.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule}
    assert load_rule_settings().alert_names == alerts


def test_an_unreadable_rule_source_says_what_to_pass(tmp_path):
    """A missing file or one without `settings` is a ValueError naming the file and the way out."""
    with pytest.raises(ValueError, match=r"missing\.yml.*--rules-file"):
        load_rule_settings(tmp_path / "missing.yml")
    empty = tmp_path / "empty.yml"
    empty.write_text("rule_groups: []\n")
    with pytest.raises(ValueError, match="no `settings` mapping"):
        load_rule_settings(empty)


def test_every_alert_says_what_the_investigator_reads_and_it_is_the_alerts_series():
    """Each alert has a reading with words and a unit, whose query reads a series of its rule."""
    settings = load_rule_settings()
    assert set(settings.readings) == settings.alert_names
    source = yaml.safe_load(RULES_SOURCE.read_text())
    exprs: dict[str, str] = {}
    for group in source["rule_groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                exprs[rule["alert"]] = exprs.get(rule["alert"], "") + rule["expr"]
    for alert, reading in settings.readings.items():
        assert reading.measures != alert and reading.unit, alert
        query = reading.query(tool="Tool A", user="ada")
        assert "{tool}" not in query and "{user}" not in query, query
        names = set(re.findall(r"[a-z_:]+(?=\{)", query))
        assert names and all(name in exprs[alert] for name in names), (alert, names)
