"""Grafana: it answers, each provisioned datasource passes its health check, the dashboards exist."""
from __future__ import annotations

import json

import requests
import yaml

from license_demo.cloud.sources import DASHBOARDS_DIR
from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import REPO, Targets, get, short_error

DATASOURCES_FILE = REPO / "grafana" / "provisioning" / "datasources" / "datasources.yml"


def provisioned_datasource_uids() -> list[str]:
    """The datasource uids grafana/provisioning gives (the dashboards and alert links use them)."""
    return [ds["uid"] for ds in yaml.safe_load(DATASOURCES_FILE.read_text())["datasources"]]


def dashboards() -> dict[str, str]:
    """The project's dashboards: uid → title, from the generated JSON."""
    found = {}
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        found[data["uid"]] = data["title"]
    return found


def check_health(targets: Targets, report: Report) -> bool:
    """GET /api/health: Grafana runs and reaches its database."""
    try:
        answer = get(targets.grafana + "/api/health")
    except requests.RequestException as exc:
        report.fail("grafana.health", f"Grafana at {targets.grafana} unreachable ({short_error(exc)})",
                    "start it (`make up`) or point --grafana / GRAFANA_URL at your Grafana (Cloud) stack")
        return False
    body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
    if answer.status_code != 200 or body.get("database") != "ok":
        report.fail("grafana.health", f"Grafana unhealthy (HTTP {answer.status_code}: {answer.text[:200]})",
                    "Grafana cannot reach its database: look at its log")
        return False
    report.ok("grafana.health", f"Grafana {body.get('version', '')} answers at {targets.grafana}".replace("  ", " "))
    return True


def check_datasources(targets: Targets, report: Report, headers: dict) -> None:
    """GET /api/datasources/uid/<uid>/health for each datasource."""
    for uid in targets.datasource_uids or provisioned_datasource_uids():
        key = f"grafana.datasource.{uid}"
        answer = get(f"{targets.grafana}/api/datasources/uid/{uid}/health", headers=headers)
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code == 200 and str(body.get("status", "")).upper() == "OK":
            report.ok(key, f"datasource {uid}: {body.get('message') or 'healthy'}")
        elif answer.status_code in (401, 403):
            report.fail(key, f"datasource {uid}: the token was refused (HTTP {answer.status_code})",
                        "GRAFANA_TOKEN must be a service-account token with the Viewer role or more")
        elif answer.status_code == 404:
            report.fail(key, f"datasource {uid} does not exist",
                        "provision grafana/provisioning/datasources/datasources.yml (`make up` does), or pass "
                        "--datasource-uid with your stack's uids (Grafana Cloud: grafanacloud-...)")
        else:
            report.fail(key, f"datasource {uid} failed its health check: {body.get('message') or answer.text[:200]}",
                        f"open {targets.grafana}/connections/datasources/edit/{uid} and fix its URL or credentials")


def check_dashboards(targets: Targets, report: Report, headers: dict) -> None:
    """GET /api/dashboards/uid/<uid> for the three dashboards."""
    for uid, title in dashboards().items():
        key = f"grafana.dashboard.{uid}"
        answer = get(f"{targets.grafana}/api/dashboards/uid/{uid}", headers=headers)
        if answer.status_code == 200:
            report.ok(key, f"dashboard {uid} ({answer.json().get('dashboard', {}).get('title', title)})")
        elif answer.status_code in (401, 403):
            report.fail(key, f"dashboard {uid}: the token was refused (HTTP {answer.status_code})",
                        "GRAFANA_TOKEN must be a service-account token with the Viewer role or more")
        else:
            report.fail(key, f"dashboard {uid} ({title}) not found (HTTP {answer.status_code})",
                        f"import grafana/provisioning/dashboards/json/{uid}.json (Dashboards → New → Import) "
                        "or provision the folder (`make up` does)")


def run(targets: Targets, report: Report) -> bool:
    """The Grafana checks, when a URL and a token are given; True when Grafana answered."""
    report.section("Grafana" + (f" {targets.grafana}" if targets.grafana else ""))
    if not targets.grafana:
        report.skip("grafana.health", "no Grafana URL (--grafana / GRAFANA_URL): dashboards not checked")
        return False
    if not check_health(targets, report):
        return False
    if not targets.grafana_token:
        report.fail("grafana.token", "no Grafana token: datasources and dashboards cannot be checked",
                    "create a service-account token (Administration → Service accounts) and set GRAFANA_TOKEN")
        return True
    headers = {"Authorization": f"Bearer {targets.grafana_token}"}
    check_datasources(targets, report, headers)
    check_dashboards(targets, report, headers)
    return True
