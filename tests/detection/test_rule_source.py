"""rule_source, the one reader of prometheus/rules.src.yml: what it reads, and that every part follows it."""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import rule_source
from rule_source.durations import duration_seconds

REPO = Path(__file__).resolve().parents[2]
RENDERED = [REPO / "prometheus" / "rules" / name for name in ("demo.yml", "production.yml")]


def _rendered_alerts(path: Path) -> list[dict]:
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]
            if "alert" in rule]


@pytest.mark.parametrize("rendered", RENDERED, ids=lambda p: p.name)
def test_alert_names_are_the_alerts_of_each_rendered_profile(rendered: Path):
    """Preflight checks Prometheus for these names: each rendered profile holds exactly them."""
    assert rule_source.load().alert_names == {rule["alert"] for rule in _rendered_alerts(rendered)}


@pytest.mark.parametrize("profile", ["demo", "production"])
def test_windows_and_holds_are_the_rendered_ones(profile):
    """`window_seconds` is the range of the recording rules, `hold_seconds` each alert's `for:`."""
    rules = rule_source.load()
    rendered = REPO / "prometheus" / "rules" / f"{profile}.yml"
    for rule in _rendered_alerts(rendered):
        assert rules.hold_seconds(rule["alert"], profile) == duration_seconds(rule["for"]), rule["alert"]
    window = yaml.safe_load(rendered.read_text())["groups"][0]["rules"][0]["expr"]
    assert re.search(r"\[(\w+)\]", window).group(1) == rules.profiles[profile]["window"]
    assert rules.window_seconds(profile) == duration_seconds(rules.profiles[profile]["window"])


def test_an_unreadable_rule_source_says_what_to_set(tmp_path):
    """A missing file, one without `settings` or without a threshold an alert names: a ValueError
    naming the file and the setting that points elsewhere."""
    with pytest.raises(ValueError, match=r"RULES_SOURCE_FILE=.*missing\.yml"):
        rule_source.load(tmp_path / "missing.yml")
    empty = tmp_path / "empty.yml"
    empty.write_text("rule_groups: []\n")
    with pytest.raises(ValueError, match="--rules-file=.*no `settings` mapping"):
        rule_source.load(empty, "--rules-file")
    lacking = tmp_path / "lacking.yml"
    lacking.write_text("settings: {alert_series: {A: {series: up, threshold: hoarding_seats}}}\n"
                       "rule_groups: [{name: g, rules: [{alert: A, expr: up > 1}]}]\n")
    with pytest.raises(ValueError, match="has no hoarding_seats under settings"):
        rule_source.load(lacking)


def test_the_generator_refuses_an_unreadable_source_with_what_to_do(tmp_path):
    """`generate_rules.py --source` on a missing file: exit 2 naming it, nothing written."""
    done = subprocess.run([sys.executable, str(REPO / "prometheus" / "generate_rules.py"),
                           "--source", str(tmp_path / "missing.yml"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "missing.yml" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_every_alert_says_what_the_investigator_reads_and_it_is_the_alerts_series():
    """Each alert has a reading with words and a unit, whose query reads a series of its rule."""
    settings = rule_source.load()
    assert set(settings.readings) == settings.alert_names
    exprs: dict[str, str] = {}
    for group in settings.rule_groups:
        for rule in group["rules"]:
            if "alert" in rule:
                exprs[rule["alert"]] = exprs.get(rule["alert"], "") + rule["expr"]
    for alert, reading in settings.readings.items():
        assert reading.measures != alert and reading.unit, alert
        query = reading.query(tool="Tool A", user="ada")
        assert "{tool}" not in query and "{user}" not in query, query
        names = set(re.findall(r"[a-z_:]+(?=\{)", query))
        assert names and all(name in exprs[alert] for name in names), (alert, names)


def test_incident_kinds_are_known_and_the_server_groups_alerts_by_them():
    """Every `incident:` is one of the kinds the server verifies; its groups are the rule source's."""
    from license_server import incident_rule
    rules = rule_source.load()
    kinds = {entry["incident"] for entry in rules.values["alert_series"].values() if "incident" in entry}
    assert kinds == set(rule_source.INCIDENT_KINDS)
    assert set(rules.incident_alerts("overage")) == set(rules.groups["license-overage.alerts"])
    policy = incident_rule.Policy.from_rules(rules, 60, 20)
    for kind in kinds:
        assert all(policy.kind(name) == kind for name in rules.incident_alerts(kind)), kind
    assert policy.kind("SingleUserHoarding") is None
    with pytest.raises(KeyError, match="not an incident kind"):
        rules.incident_alerts("hoarding")


def _changed_copy(tmp_path: Path) -> Path:
    """The rule source with the overage threshold at 45 %, the cost budget at $1,500, hoarding at 12 seats."""
    text = (REPO / "prometheus" / "rules.src.yml").read_text()
    changed = re.sub(r"(?m)^  high_overage_ratio: .*$", "  high_overage_ratio: 0.45", text)
    changed = re.sub(r"(?m)^  cost_burn_dollars_per_hour: .*$", "  cost_burn_dollars_per_hour: 1500", changed)
    changed = re.sub(r"(?m)^  hoarding_seats: .*$", "  hoarding_seats: 12", changed)
    assert changed.count("0.45") == 1 and changed != text
    copy = tmp_path / "rules.src.yml"
    copy.write_text(changed)
    return copy


def test_a_threshold_changed_in_the_source_moves_every_reader(tmp_path, monkeypatch):
    """Change the threshold in a copy: the server, the demo CLI's journey and investigator, the
    generated rules and the dashboards all take the new number; none keeps the old one."""
    copy = _changed_copy(tmp_path)
    monkeypatch.setenv(rule_source.PATH_VARIABLE, str(copy))
    # The reader, by path and by $RULES_SOURCE_FILE.
    assert rule_source.load(copy).threshold("HighOverageRate") == 0.45
    assert rule_source.load().threshold("HighOverageCostBurn") == 1500
    # The server judges fixes and draws /api/overview's line with it.
    from license_server import create_app, stop_background
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'license.db'}",
                      "ALERT_RULES_FILE": str(copy), "LEASE_REAP_INTERVAL": 0, "INCIDENT_CHECK_INTERVAL": 0})
    try:
        assert app.extensions["incident_policy"].thresholds["high_overage_ratio"] == 0.45
        assert app.test_client().get("/api/overview").get_json()["threshold"] == 0.45
    finally:
        stop_background(app)
    # The journey that checks the rerun against it, and the investigator's reader.
    from license_demo.investigate import cli as investigate_cli
    from license_demo.journeys.catalogue import overage_crisis
    assert overage_crisis.threshold_of_alert() == 0.45
    parser = argparse.ArgumentParser()
    investigate_cli.register(parser.add_subparsers())
    assert investigate_cli.settings_from(parser.parse_args(["investigate", "x"])).hoarding_seats == 12
    # The generated rules: the expressions and the words of the annotations.
    spec = importlib.util.spec_from_file_location("generate_rules", REPO / "prometheus" / "generate_rules.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    files = generator.render_all(copy, tmp_path / "out")
    demo = next(text for path, text in files.items() if path.name == "demo.yml")
    assert "> 0.45" in demo and "above the 45% threshold" in demo and "> 0.3" not in demo
    assert "tool:license_overage_cost_burn:dollars_per_hour > 1500" in demo
    # The dashboards, generated the way `make dashboards` does, with the copy as the source.
    out = tmp_path / "dashboards"
    subprocess.run([sys.executable, "-m", "grafana.generate", "--out", str(out)], cwd=REPO, check=True,
                   capture_output=True, timeout=120)
    business = json.loads((out / "license-business-metrics.json").read_text())
    gauge = next(p for p in business["panels"] if p["title"] == "Overage Rate")
    assert [s["value"] for s in gauge["fieldConfig"]["defaults"]["thresholds"]["steps"]][1:] == [0.45]
    assert "45 %" in gauge["description"] and "30 %" not in json.dumps(business)
    cost = next(p for p in business["panels"] if p["id"] == rule_source.load().values["panels"]["overage_cost"])
    assert 1500 in [s["value"] for s in cost["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_the_default_source_is_rules_source_file_then_the_servers_setting_then_the_checkout(monkeypatch, tmp_path):
    """Every reader of one process reads one file: the image sets RULES_SOURCE_FILE; a server
    given only ALERT_RULES_FILE groups its incidents by that same file."""
    monkeypatch.delenv(rule_source.PATH_VARIABLE, raising=False)
    monkeypatch.delenv("ALERT_RULES_FILE", raising=False)
    assert rule_source.default_path() == REPO / "prometheus" / "rules.src.yml"
    monkeypatch.setenv("ALERT_RULES_FILE", str(tmp_path / "server.yml"))
    assert rule_source.default_path() == tmp_path / "server.yml"
    monkeypatch.setenv(rule_source.PATH_VARIABLE, str(tmp_path / "shared.yml"))
    assert rule_source.default_path() == tmp_path / "shared.yml"
