"""Which web pages a running Prometheus and Alertmanager really serve, found by asking them."""
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
