"""`license-demo cloud` against loopback Grafana Cloud peers: the exact requests, a second run, failures."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from cloud_stage import GRAFANA_TOKEN, SECRETS, WEBHOOK_TOKEN
from license_demo.cli import main

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "grafana" / "provisioning" / "dashboards" / "json"


def run_cloud(capsys, *argv) -> tuple[int, str]:
    """`license-demo cloud ARGV`; its exit code and output, which must hold no secret."""
    code = main(["cloud", *argv])
    text = capsys.readouterr().out
    for secret in SECRETS:
        assert secret not in text
    return code, text


def expected_groups(grafana_url: str, loki_uid: str) -> list[dict]:
    """The committed production rules with this stack's Grafana and Loki datasource in the links."""
    text = (REPO / "prometheus" / "rules" / "production.yml").read_text()
    text = text.replace("http://localhost:3000", grafana_url)
    text = text.replace('"datasource":"loki"', f'"datasource":"{loki_uid}"')
    text = text.replace('"uid":"loki"', f'"uid":"{loki_uid}"')
    return yaml.safe_load(text)["groups"]


def differences(a, b, path=()) -> dict[tuple, tuple]:
    """Every leaf where two JSON values differ: path → (a, b)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = {}
        for key in set(a) | set(b):
            found.update(differences(a.get(key, "<missing>"), b.get(key, "<missing>"), path + (key,)))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = {}
        for index, (x, y) in enumerate(zip(a, b)):
            found.update(differences(x, y, path + (index,)))
        return found
    return {} if a == b else {path: (a, b)}


def test_first_run_sends_the_generated_configuration_and_a_second_run_nothing(
        capsys, tmp_path, settings_file, app, mimir, grafana):
    env_file = settings_file()
    code, text = run_cloud(capsys, "--env-file", env_file)
    assert code == 0, text
    assert "datasources: prometheus grafanacloud-prom (grafanacloud-demo-prom), loki grafanacloud-logs" in text
    assert "9 changes made" in text, text

    # Rules: one POST per group, YAML, equal to the production rules with this stack's links.
    posts = [c for c in mimir.writes() if c["path"].startswith("/api/prom/config/v1/rules/")]
    assert {c["path"] for c in posts} == {"/api/prom/config/v1/rules/license-server"}
    assert all(c["content_type"] == "application/yaml" for c in posts)
    sent = [yaml.safe_load(c["body"]) for c in posts]
    assert sent == expected_groups(grafana.url, "grafanacloud-logs")
    # The real promtool accepts them, templates with the stack's links included.
    (tmp_path / "sent.yml").write_text(yaml.safe_dump({"groups": sent}, sort_keys=False))
    checked = subprocess.run(["promtool", "check", "rules", str(tmp_path / "sent.yml")],
                             capture_output=True, text=True, timeout=30)
    count = sum(len(group["rules"]) for group in sent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {count} rules found" in checked.stdout

    # Alertmanager: the real amtool accepts it; it notifies the app with its bearer token.
    (stored,) = [yaml.safe_load(c["body"]) for c in mimir.writes() if c["path"] == "/api/v1/alerts"]
    assert stored["template_files"] == {"license.tmpl": (REPO / "alertmanager/templates/license.tmpl").read_text()}
    folder = tmp_path / "am"
    folder.mkdir()
    (folder / "alertmanager.yml").write_text(stored["alertmanager_config"])
    (folder / "license.tmpl").write_text(stored["template_files"]["license.tmpl"])
    checked = subprocess.run(["amtool", "check-config", str(folder / "alertmanager.yml")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Found:\n - global config\n - route" in checked.stdout and " - 1 templates" in checked.stdout
    config = yaml.safe_load(stored["alertmanager_config"])
    hooks = [hook for receiver in config["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert len(hooks) == 3
    for hook in hooks:
        assert hook["url"] == app.url + "/api/alerts/webhook"
        assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials": WEBHOOK_TOKEN}
    assert config["route"]["group_wait"] == "30s"

    # Dashboards: the generated JSON, only the datasource references changed, in the folder.
    assert grafana.folders["license-server"]["title"] == "License Server"
    saves = [json.loads(c["body"]) for c in grafana.writes() if c["path"] == "/api/dashboards/db"]
    assert len(saves) == 3
    for save in saves:
        assert save["folderUid"] == "license-server" and save["overwrite"] is True
        generated = json.loads((DASHBOARDS / f"{save['dashboard']['uid']}.json").read_text())
        changed = differences(generated, save["dashboard"])
        variables = {v["name"]: i for i, v in enumerate(generated["templating"]["list"])}
        prom, loki = (("templating", "list", variables[name], "current") for name in ("DS_PROMETHEUS", "DS_LOKI"))
        wanted = {prom + ("text",): ("prometheus", "grafanacloud-demo-prom"),
                  prom + ("value",): ("prometheus", "grafanacloud-prom"),
                  loki + ("text",): ("loki", "grafanacloud-demo-logs"),
                  loki + ("value",): ("loki", "grafanacloud-logs")}
        alert_lists = [i for i, p in enumerate(generated["panels"]) if p["type"] == "alertlist"]
        wanted.update({("panels", i, "options", "datasource"): ("Prometheus", "grafanacloud-demo-prom")
                       for i in alert_lists})
        assert changed == wanted

    # A second run reads everything, writes nothing and says so.
    writes = len(mimir.writes()) + len(grafana.writes())
    code, text = run_cloud(capsys, "--env-file", env_file)
    assert code == 0 and "Nothing to change: the stack already matches the repository." in text, text
    assert len(mimir.writes()) + len(grafana.writes()) == writes


def test_dry_run_shows_the_changes_and_makes_none(capsys, settings_file, mimir, grafana):
    code, text = run_cloud(capsys, "--env-file", settings_file(), "--dry-run")
    assert code == 0, text
    assert "~ would create folder license-server" in text
    assert "~ would create dashboard license-business-metrics" in text
    assert "~ would create rule group license-overage.alerts" in text
    assert "~ would store the Alertmanager configuration (no configuration stored yet;" in text
    assert "Dry run: 9 changes to make" in text
    assert mimir.writes() == [] and grafana.writes() == []


def test_a_changed_dashboard_or_rule_group_is_written_again_alone(capsys, settings_file, mimir, grafana):
    env_file = settings_file()
    assert run_cloud(capsys, "--env-file", env_file)[0] == 0
    grafana.dashboards["license-capacity-planning"]["dashboard"]["title"] = "edited by hand"
    mimir.groups["license-server"]["license-capacity.alerts"]["rules"][0]["for"] = "1m"
    before_m, before_g = len(mimir.writes()), len(grafana.writes())
    code, text = run_cloud(capsys, "--env-file", env_file)
    assert code == 0 and "2 changes made" in text, text
    assert "update dashboard license-capacity-planning" in text and "update rule group license-capacity.alerts" in text
    assert [c["path"] for c in mimir.writes()[before_m:]] == ["/api/prom/config/v1/rules/license-server"]
    assert [c["path"] for c in grafana.writes()[before_g:]] == ["/api/dashboards/db"]


@pytest.mark.parametrize("change, endpoint, fix", [
    ({"GRAFANA_TOKEN": "glsa_wrong"}, "/api/datasources answered HTTP 401", "check GRAFANA_TOKEN"),
    ({"PROMETHEUS_PASSWORD": "glc_wrong"}, "/api/prom/config/v1/rules/license-server/license-usage.rules "
                                           "answered HTTP 401", "check PROMETHEUS_USER and PROMETHEUS_PASSWORD"),
    ({"ALERTMANAGER_URL": "http://127.0.0.1:9/alertmanager"}, "GET http://127.0.0.1:9/api/v1/alerts: Grafana Cloud "
                                                              "Alertmanager unreachable (connection refused)",
     "check ALERTMANAGER_URL"),
])
def test_a_failure_names_the_endpoint_the_status_and_what_to_do(capsys, settings_file, change, endpoint, fix):
    code, text = run_cloud(capsys, "--env-file", settings_file(**change))
    assert code == 1
    assert endpoint in text and fix in text, text
    assert GRAFANA_TOKEN not in text and "glsa_wrong" not in text and "glc_wrong" not in text


def test_missing_settings_are_named(capsys, settings_file):
    code, text = run_cloud(capsys, "--env-file", settings_file(GRAFANA_URL="", PROMETHEUS_USER=""))
    assert code == 2
    assert "PROMETHEUS_USER: the stack's Prometheus instance id" in text and "GRAFANA_URL: the stack's Grafana" in text


def test_teardown_removes_what_the_setup_made_and_then_finds_nothing(capsys, settings_file, mimir, grafana):
    env_file = settings_file()
    assert run_cloud(capsys, "--env-file", env_file)[0] == 0
    code, text = run_cloud(capsys, "--env-file", env_file, "--teardown", "--dry-run")
    assert code == 0 and "Dry run: 3 changes to make" in text, text
    assert grafana.folders and mimir.groups and mimir.alertmanager_config
    code, text = run_cloud(capsys, "--env-file", env_file, "--teardown")
    assert code == 0 and "3 changes made." in text, text
    assert "delete folder license-server and its dashboards" in text and "delete rule namespace license-server" in text
    assert grafana.folders == {} and grafana.dashboards == {} and mimir.groups == {}
    assert mimir.alertmanager_config is None
    code, text = run_cloud(capsys, "--env-file", env_file, "--teardown")
    assert code == 0 and "Nothing to remove: the stack holds nothing of the demo." in text, text


def test_another_alertmanager_configuration_is_kept_unless_replacing_is_asked_for(capsys, settings_file, mimir,
                                                                                    grafana):
    theirs = {"template_files": {}, "alertmanager_config": yaml.safe_dump({
        "route": {"receiver": "oncall"},
        "receivers": [{"name": "oncall", "pagerduty_configs": [{"routing_key": "abc"}]}, {"name": "empty"}]})}
    mimir.alertmanager_config = theirs
    code, text = run_cloud(capsys, "--env-file", settings_file())
    assert code == 1
    assert "the stack's Alertmanager holds another configuration (receivers oncall)" in text
    assert "--replace-alertmanager" in text and mimir.alertmanager_config is theirs
    # Refused while comparing: nothing was written anywhere.
    assert mimir.writes() == [] and grafana.writes() == []
    code, text = run_cloud(capsys, "--env-file", settings_file(), "--replace-alertmanager")
    assert code == 0 and "store the Alertmanager configuration" in text, text
    assert "license-server" in mimir.alertmanager_config["alertmanager_config"]


def test_an_empty_fallback_configuration_is_replaced_without_asking(capsys, settings_file, mimir):
    mimir.alertmanager_config = {"alertmanager_config": "route:\n  receiver: empty-receiver\n"
                                                        "receivers:\n- name: empty-receiver\n"}
    code, text = run_cloud(capsys, "--env-file", settings_file())
    assert code == 0 and "store the Alertmanager configuration" in text, text


def test_settings_the_environment_wins_over_the_file_and_tokens_stay_out_of_repr(tmp_path):
    from license_demo.cloud.settings import load
    path = tmp_path / "cloud.env"
    path.write_text("FLY_APP_URL=https://app.fly.dev/\nALERT_WEBHOOK_TOKEN=w-secret\n"
                    "PROMETHEUS_URL=https://prometheus-prod-01.grafana.net/api/prom\nPROMETHEUS_USER=11\n"
                    "PROMETHEUS_PASSWORD=p-secret\nALERTMANAGER_URL=https://alertmanager-prod-01.grafana.net\n"
                    "GRAFANA_URL=https://demo.grafana.net\nGRAFANA_TOKEN=g-file\n")
    settings, _values = load(path, environ={"GRAFANA_TOKEN": "g-env"})
    assert settings.grafana_token == "g-env" and settings.server_url == "https://app.fly.dev"
    # The Alertmanager's API lives under /alertmanager, its configuration API at the root.
    assert settings.alertmanager_api == "https://alertmanager-prod-01.grafana.net/alertmanager"
    assert settings.alertmanager_config_api == "https://alertmanager-prod-01.grafana.net/api/v1/alerts"
    assert settings.alertmanager_auth == ("11", "p-secret")
    assert "secret" not in repr(settings) and "g-env" not in repr(settings)


def test_a_url_that_answers_a_page_instead_of_the_api_is_named(capsys, settings_file, grafana):
    # A dashboard's address pasted as GRAFANA_URL: Grafana answers its HTML page there.
    code, text = run_cloud(capsys, "--env-file", settings_file(GRAFANA_URL=grafana.url + "/d"))
    assert code == 1
    assert f"GET {grafana.url}/d/api/datasources answered HTTP 200 with no JSON" in text, text
    assert "check GRAFANA_URL, which must be Grafana's address" in text
