"""The generated dashboards: in sync with the Python, complete, and in today's Grafana JSON shape."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

from dashboard_queries import panels
from support import logql_subset

REPO = Path(__file__).resolve().parents[2]
JSON_DIR = REPO / "grafana/provisioning/dashboards/json"
BUSINESS = "license-business-metrics.json"
UIDS = {"license-business-metrics", "license-server-operations", "license-capacity-planning"}


def all_panels(dashboards):
    """(dashboard file, panel) for every panel."""
    return [(name, panel) for name, dash in dashboards.items() for panel in panels(dash)]


def test_committed_json_equals_generated(generated_dashboards):
    """Each committed JSON file is exactly what its .dashboard.py generates (run `make dashboards`)."""
    from grafana import generate
    committed = {p.name: p.read_text() for p in JSON_DIR.glob("*.json")}
    assert set(committed) == set(generated_dashboards)
    for name, data in generated_dashboards.items():
        assert committed[name] == generate.render(data), f"{name} is stale: run make dashboards"


def test_generate_check_mode_detects_drift(tmp_path):
    """`python -m grafana.generate --check` passes on the committed files and fails on a changed copy."""
    script = [sys.executable, "-m", "grafana.generate"]
    assert subprocess.run(script + ["--check"], capture_output=True, cwd=REPO).returncode == 0
    for path in JSON_DIR.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text().replace("Overage", "Overdue"))
    done = subprocess.run(script + ["--check", "--out", str(tmp_path)], capture_output=True,
                          text=True, cwd=REPO)
    assert done.returncode == 1 and "make dashboards" in done.stdout


def test_three_dashboards_with_fixed_uids(generated_dashboards):
    """Business, operations and capacity dashboards exist under their fixed uids."""
    assert {d["uid"] for d in generated_dashboards.values()} == UIDS


def test_alert_link_panel_ids(generated_dashboards):
    """The panel ids the alert annotations open (docs/contracts.md) hold the right panels."""
    titles = {p["id"]: p["title"] for p in panels(generated_dashboards[BUSINESS])}
    assert titles[2] == "Overage Rate"
    assert titles[4].startswith("Overage Cost")
    assert titles[6] == "Availability"
    assert titles[8] == "License Checkouts by User"
    assert titles[10] == "Borrow Failures"
    assert titles[12] == "Server Health"
    rules = yaml.safe_load((REPO / "prometheus/rules.src.yml").read_text())
    assert set(rules["settings"]["panels"].values()) <= set(titles)
    assert rules["settings"]["dashboard_uid"] == "license-business-metrics"
    assert rules["settings"]["loki_datasource_uid"] == "loki"


def test_every_panel_has_a_datasource_and_a_query(generated_dashboards):
    """Each data panel names a datasource variable and has non-empty queries on it."""
    for name, panel in all_panels(generated_dashboards):
        if panel["type"] == "alertlist":
            # Lists the rules of the provisioned Prometheus datasource instead of a query.
            assert panel["options"]["datasource"] == "Prometheus"
            continue
        assert panel["datasource"]["uid"] in ("${DS_PROMETHEUS}", "${DS_LOKI}"), panel["title"]
        assert panel["targets"], f"{name}: {panel['title']} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip() and target["refId"]
            assert target["datasource"] == panel["datasource"], panel["title"]
        ids = [t["refId"] for t in panel["targets"]]
        assert len(ids) == len(set(ids)), panel["title"]


def test_panel_ids_unique_and_grid_fits(generated_dashboards):
    """Panel ids are unique per dashboard and every panel sits inside the 24-column grid."""
    for name, dash in generated_dashboards.items():
        ids = [p["id"] for p in panels(dash)]
        assert len(ids) == len(set(ids)), name
        for panel in panels(dash):
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24 and pos["h"] > 0, (name, panel["title"])


def test_modern_threshold_and_reduce_shapes(generated_dashboards):
    """No threshold base "null" string, gauge/bargauge reduceOptions under options, no fieldOptions."""
    for name, panel in all_panels(generated_dashboards):
        text = json.dumps(panel)
        assert '"null"' not in text, (name, panel["title"])
        assert "fieldOptions" not in text, (name, panel["title"])
        steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps")
        if steps:
            assert steps[0]["value"] is None, panel["title"]
            assert all(set(s) == {"color", "value"} for s in steps), panel["title"]
            values = [s["value"] for s in steps[1:]]
            assert values == sorted(values), panel["title"]
        if panel["type"] in ("gauge", "bargauge", "stat"):
            reduce = panel["options"]["reduceOptions"]
            assert reduce["calcs"] and reduce["fields"] == "" and reduce["values"] is False
            assert "calcs" not in panel["fieldConfig"]["defaults"]


def test_overage_gauge_marks_thirty_percent(generated_dashboards):
    """The Overage Rate gauge shows threshold markers with a red step at 0.3 (30 %)."""
    gauge = next(p for p in panels(generated_dashboards[BUSINESS]) if p["id"] == 2)
    assert gauge["type"] == "gauge" and gauge["options"]["showThresholdMarkers"] is True
    assert {"color": "red", "value": 0.3} in gauge["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert gauge["fieldConfig"]["defaults"]["unit"] == "percentunit"


def test_alert_list_uses_unified_alerting_options(generated_dashboards):
    """The alert list has the Grafana 9+ options, none of the pre-8 fields."""
    alert = next(p for p in panels(generated_dashboards[BUSINESS]) if p["type"] == "alertlist")
    for legacy in ("onlyAlertsOnDashboard", "show", "stateFilter", "nameFilter", "dashboardTags",
                   "sortOrder", "span"):
        assert legacy not in alert, legacy
    options = alert["options"]
    assert set(options["stateFilter"]) == {"firing", "pending", "noData", "normal", "error"}
    assert options["viewMode"] in ("list", "stat") and options["groupMode"] == "default"


def test_loki_targets_have_the_loki_shape(generated_dashboards):
    """Loki targets carry expr, queryType and the Loki datasource variable."""
    found = 0
    for _, panel in all_panels(generated_dashboards):
        for target in panel.get("targets", []):
            if target["datasource"]["type"] == "loki":
                found += 1
                assert target["queryType"] in ("range", "instant")
                assert target["datasource"]["uid"] == "${DS_LOKI}"
    assert found >= 3


def test_variables(generated_dashboards):
    """Datasource variables default to the provisioned uids; tool everywhere; team on business."""
    provisioned = yaml.safe_load(
        (REPO / "grafana/provisioning/datasources/datasources.yml").read_text())
    uids = {d["type"]: d["uid"] for d in provisioned["datasources"]}
    for name, dash in generated_dashboards.items():
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        assert variables["DS_PROMETHEUS"]["current"]["value"] == uids["prometheus"]
        assert variables["DS_LOKI"]["current"]["value"] == uids["loki"]
        assert variables["tool"]["includeAll"] and variables["tool"]["multi"]
    business = {v["name"] for v in generated_dashboards[BUSINESS]["templating"]["list"]}
    assert "team" in business


def grafana_queryparam(tools: list[str]) -> str:
    """What Grafana puts in for `${tool:queryparam}`: `var-tool=<encoded>` per value."""
    return "&".join("var-tool=" + urllib.parse.quote(v, safe="-_.!~*'()") for v in tools)


def loki_interpolate(expr: str, tools: list[str]) -> str:
    """`"$tool"` as Grafana's Loki datasource fills it into a quoted regex selector: `.*` for
    All; else each value regex-escaped, then escaped for a LogQL string, `(a|b)` for several."""
    if tools == ["$__all"]:
        return expr.replace('"$tool"', '".*"')
    escaped = [re.sub(r"([\\^$*+?.()|\[\]{}])", r"\\\1", v) for v in tools]
    pattern = escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    return expr.replace('"$tool"', json.dumps(pattern))


# The whole catalog and a name with every character a link could trip on.
TOOLS = [tool["name"] for tool in yaml.safe_load(
    (REPO / "license_server/tools.yaml").read_text())["tools"]]
ODD = 'MATLAB/Simulink (R2024b) v1.2 "beta" C:\\tools & 50% +1 #x'
CANDIDATES = TOOLS + [ODD]


def overage_logs_links(dashboards) -> list[str]:
    """The URLs of every link titled as a way to the overage logs (dashboard and panel links)."""
    urls = [link["url"] for dash in dashboards.values() for link in dash["links"]
            if link["type"] == "link"]
    urls += [link["url"] for _, panel in all_panels(dashboards)
             for link in panel.get("links", []) if "Loki" in link["title"]]
    return urls


@pytest.mark.parametrize("chosen", [["$__all"], CANDIDATES[:1], CANDIDATES[:2], CANDIDATES[-1:],
                                    CANDIDATES[-2:]],
                         ids=["all", "one", "two", "odd-name", "odd-and-another"])
def test_overage_logs_links_select_the_chosen_tools(generated_dashboards, chosen):
    """Each overage logs link, filled in as Grafana does, opens the business dashboard's logs
    panel with exactly the chosen tools, and that panel's LogQL keeps exactly their lines."""
    business = generated_dashboards[BUSINESS]
    urls = overage_logs_links(generated_dashboards)
    assert len(urls) > 3
    for url in urls:
        filled = (url.replace("${tool:queryparam}", grafana_queryparam(chosen))
                  .replace("${__url_time_range}", "from=1&to=2"))
        parts = urllib.parse.urlsplit(filled)
        query = urllib.parse.parse_qs(parts.query)
        assert parts.path == "/d/" + business["uid"], url
        assert query["var-tool"] == chosen and query["from"] == ["1"], (url, query)
        target = next(p for _, p in all_panels({BUSINESS: business}) if p["id"] == int(query["viewPanel"][0]))
        assert target["type"] == "logs" and target["title"] == "Overage Borrows (logs)"
        expr = loki_interpolate(target["targets"][0]["expr"], query["var-tool"])
        entries = [({"app": "license-server", "event": "borrow"},
                    json.dumps({"event": "borrow", "tool": tool, "overage": True}))
                   for tool in CANDIDATES]
        picked = [k["tool"] for k in logql_subset.run(logql_subset.parse(expr), entries)]
        assert picked == (CANDIDATES if chosen == ["$__all"] else chosen), (expr, picked)


def test_links_between_dashboards_and_to_the_overage_logs(generated_dashboards):
    """Every dashboard links the others (by tag) and the overage logs of the chosen tool."""
    from grafana.dashboards import panels as shared
    for name, dash in generated_dashboards.items():
        kinds = {link["type"]: link for link in dash["links"]}
        assert kinds["dashboards"]["tags"] == shared.TAGS and kinds["dashboards"]["includeVars"]
        assert set(shared.TAGS) <= set(dash["tags"])
        assert kinds["link"]["url"] == shared.overage_logs_url()
    logs_panel = next(p for _, p in all_panels({BUSINESS: generated_dashboards[BUSINESS]})
                      if p["id"] == shared.OVERAGE_LOGS_PANEL)
    assert logs_panel["targets"][0]["expr"] == shared.OVERAGE_LOGQL
    # Panel links to other dashboards point at uids that exist.
    for name, panel in all_panels(generated_dashboards):
        for link in panel.get("links", []):
            if link["url"].startswith("/d/"):
                assert link["url"][3:].split("?")[0] in UIDS, link["url"]


def test_annotations_for_config_changes_deployments_and_acts(generated_dashboards):
    """Each dashboard annotates config changes and deployments from the server's metrics."""
    for name, dash in generated_dashboards.items():
        by_name = {a["name"]: a for a in dash["annotations"]["list"]}
        config = by_name["Config changes"]
        assert "license_config_last_change_timestamp_seconds" in config["expr"]
        assert config["useValueForTime"] is True and "* 1000" in config["expr"]
        deploy = by_name["Deployments"]
        assert "license_server_build_info" in deploy["expr"]
        assert "{{version}}" in deploy["titleFormat"] and "{{commit}}" in deploy["titleFormat"]
        assert by_name["Demo acts"]["datasource"]["uid"] == "${DS_PROMETHEUS}"


@pytest.mark.parametrize("name", ["datasources/datasources.yml", "dashboards/dashboards.yml"])
def test_provisioning_files_are_valid_yaml(name):
    """Provisioning files parse and use apiVersion 1."""
    data = yaml.safe_load((REPO / "grafana/provisioning" / name).read_text())
    assert data["apiVersion"] == 1


def test_datasources_fixed_uids_and_scrape_interval():
    """Prometheus, Alertmanager and Loki with fixed uids; timeInterval equals the demo scrape."""
    data = yaml.safe_load((REPO / "grafana/provisioning/datasources/datasources.yml").read_text())
    by_type = {d["type"]: d for d in data["datasources"]}
    assert {t: d["uid"] for t, d in by_type.items()} == {
        "prometheus": "prometheus", "alertmanager": "alertmanager", "loki": "loki", "tempo": "tempo"}
    prometheus_yml = yaml.safe_load((REPO / "prometheus/prometheus.yml").read_text())
    assert by_type["prometheus"]["jsonData"]["timeInterval"] == \
        prometheus_yml["global"]["scrape_interval"] == "2s"
    assert by_type["prometheus"]["url"] == "http://prometheus:9090"
    assert by_type["loki"]["url"] == "http://loki:3100"
    assert by_type["alertmanager"]["url"] == "http://alertmanager:9093"
    assert by_type["prometheus"]["isDefault"] is True


def test_dashboard_provider_points_at_the_json():
    """The file provider reads the folder the compose file mounts the generated JSON into."""
    data = yaml.safe_load((REPO / "grafana/provisioning/dashboards/dashboards.yml").read_text())
    provider = data["providers"][0]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/provisioning/dashboards/json"
