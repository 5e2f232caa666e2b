"""Grafana on the cloud stage: the token, each dashboard `license-demo cloud` saved and the datasources
it uses, and the pages to open."""
from __future__ import annotations

from license_demo.cloud.grafana_setup import FOLDER_UID, VARIABLES, generated_dashboards
from license_demo.cloud.settings import CloudSettings
from license_demo.preflight import grafana_checks
from license_demo.preflight.checklist import Report
from license_demo.preflight.targets import Targets, get

SETUP_FIX = "run `license-demo cloud` (it loads the rules, the Alertmanager configuration and the dashboards)"


def _datasource_uids(dashboard: dict) -> list[str]:
    """The uids the dashboard's datasource variables hold."""
    return [v.get("current", {}).get("value", "") for v in dashboard.get("templating", {}).get("list", [])
            if v.get("type") == "datasource" and v.get("name") in VARIABLES.values()]


def run(settings: CloudSettings, targets: Targets, report: Report) -> bool:
    """Grafana answers, the token works, each dashboard exists and its datasources pass their health check."""
    if not grafana_checks.check_health(targets, report):
        return False
    headers = {"Authorization": f"Bearer {settings.grafana_token}"}
    folder = get(f"{settings.grafana_url}/api/folders/{FOLDER_UID}", headers=headers)
    if folder.status_code in (401, 403):
        report.fail("cloud.grafana", f"Grafana refused GRAFANA_TOKEN (HTTP {folder.status_code})",
                    "create a service account token (Administration → Service accounts, Admin role) "
                    "and set GRAFANA_TOKEN")
        return True
    if folder.status_code != 200:
        report.fail("cloud.grafana", f"folder {FOLDER_UID} not found (HTTP {folder.status_code})", SETUP_FIX)
    else:
        report.ok("cloud.grafana", f"token accepted, folder {folder.json().get('title', FOLDER_UID)}")
    health: dict[str, str] = {}
    for uid in generated_dashboards():
        key = f"cloud.dashboard.{uid}"
        answer = get(f"{settings.grafana_url}/api/dashboards/uid/{uid}", headers=headers)
        if answer.status_code != 200:
            report.fail(key, f"dashboard {uid} not found (HTTP {answer.status_code})", SETUP_FIX)
            continue
        uids = _datasource_uids(answer.json().get("dashboard", {}))
        for ds in uids:
            if ds not in health:
                check = get(f"{settings.grafana_url}/api/datasources/uid/{ds}/health", headers=headers)
                body = check.json() if check.headers.get("Content-Type", "").startswith("application/json") else {}
                ok = check.status_code == 200 and str(body.get("status", "")).upper() == "OK"
                health[ds] = "" if ok else (body.get("message") or f"HTTP {check.status_code}")
        failing = {ds: health[ds] for ds in uids if health[ds]}
        if failing:
            ds, why = next(iter(failing.items()))
            report.fail(key, f"dashboard {uid}: datasource {ds} fails its health check ({why[:160]})",
                        f"open {settings.grafana_url}/connections/datasources/edit/{ds} and fix it, or run "
                        "`license-demo cloud --prometheus-datasource UID --loki-datasource UID` with working ones")
        else:
            report.ok(key, f"dashboard {uid}: datasources {', '.join(uids)} answer")
    return True


def tabs(settings: CloudSettings) -> list[tuple[str, str]]:
    """(name, URL) of every page the guide shows on the cloud stage."""
    app, grafana = settings.server_url, settings.grafana_url
    pages = [("dashboard", f"{app}/dashboard"), ("config", f"{app}/config"), ("incidents", f"{app}/incidents")]
    pages += [(board["title"], f"{grafana}/d/{uid}") for uid, board in generated_dashboards().items()]
    return pages + [("Grafana Explore (Loki)", f"{grafana}/explore"),
                    ("Grafana alert rules", f"{grafana}/alerting/list")]
