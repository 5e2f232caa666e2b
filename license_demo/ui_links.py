"""Which web pages a running Prometheus and Alertmanager really serve, and an act's pages on the stack in use."""
from __future__ import annotations

import requests

# Debian's Alertmanager serves a page with this sentence instead of the web UI.
NO_UI_MARKER = "does not include a web"


def prometheus_ui_prefix(prometheus_url: str) -> str:
    """The path prefix of Prometheus's UI pages: "" (the current UI) or "/classic" (Debian's 2.42)."""
    for prefix in ("", "/classic"):
        try:
            if requests.get(f"{prometheus_url}{prefix}/alerts", timeout=5).status_code == 200:
                return prefix
        except requests.RequestException:
            break
    return "/classic"


def alertmanager_has_ui(alertmanager_url: str) -> bool:
    """True when Alertmanager serves its web UI, not Debian's placeholder page."""
    try:
        page = requests.get(alertmanager_url.rstrip("/") + "/", timeout=5)
    except requests.RequestException:
        return False
    return page.status_code == 200 and NO_UI_MARKER not in page.text


def alertmanager_alerts_page(alertmanager_url: str, has_ui: bool | None = None) -> tuple[str, str]:
    """(name, URL) of the page showing Alertmanager's alerts: its UI, else its API (Debian's build)."""
    url = alertmanager_url.rstrip("/")
    if alertmanager_has_ui(url) if has_ui is None else has_ui:
        return "Alertmanager", f"{url}/#/alerts"
    return "Alertmanager alerts (API)", f"{url}/api/v2/alerts"


def act_urls(ctx, templates: list[str]) -> list[str]:
    """The act's pages for this run (`ctx`: a journey's context), each one that answers on the stack in use.

    Without Grafana its pages become the server's dashboard; Alertmanager's UI link becomes
    the dashboard banner where the UI is absent (Debian's package); Prometheus pages take
    the prefix its version serves (Debian's 2.42: /classic/...).
    """
    if "ui" not in ctx.state:
        ctx.state["ui"] = {
            "prometheus": prometheus_ui_prefix(ctx.prometheus.url.rstrip("/"))
            if ctx.prometheus else "",
            "alertmanager": bool(ctx.alertmanager)
            and alertmanager_has_ui(ctx.alertmanager.url)}
    server = ctx.server.url.rstrip("/")
    values = {"server": server, "grafana": ctx.grafana_url.rstrip("/"),
              "prometheus": (ctx.prometheus.url if ctx.prometheus else "").rstrip("/")
              + ctx.state["ui"]["prometheus"],
              "alertmanager": (ctx.alertmanager.url if ctx.alertmanager else "").rstrip("/")}
    urls = []
    for template in templates:
        if template.startswith("{grafana}") and ctx.grafana is None:
            template = "{server}/dashboard"
        elif template.startswith("{alertmanager}/#") and not ctx.state["ui"]["alertmanager"]:
            template = "{server}/dashboard"
        elif template.startswith("{prometheus}") and ctx.prometheus is None:
            continue
        url = template.format(**values)
        if url not in urls:
            urls.append(url)
    return urls
