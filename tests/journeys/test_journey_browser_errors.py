"""The dashboard's borrow widget throws under dashboard_js_error; the page reports it to the server."""
from __future__ import annotations

import json
import time

import pytest
import requests

pytestmark = pytest.mark.browser


def frontend_errors(server_url: str) -> float:
    """license_frontend_errors_total for the dashboard, all kinds."""
    text = requests.get(server_url + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("license_frontend_errors_total{") and 'page="dashboard"' in line)


def test_widget_error_is_reported_logged_and_counted(server_factory, admin_token, browser):
    """Off: the widget borrows, no error. On: it throws, the error is counted and logged."""
    server = server_factory()
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(server.url + "/dashboard")
        page.wait_for_selector("#demo-borrow-tool option", state="attached")
        page.click("#demo-borrow button")
        page.wait_for_function("document.getElementById('demo-borrow-outcome').textContent.startsWith('Borrowed')")
        assert frontend_errors(server.url) == 0

        response = requests.put(server.url + "/api/faults/dashboard_js_error", json={"variant": "on"},
                                headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
        assert response.status_code == 200
        page.reload()
        page.wait_for_selector('#demo-faults li[data-fault="dashboard_js_error"]', state="attached")
        page.click("#demo-borrow button")
        page.wait_for_function("document.body.dataset.lastErrorRequestId !== undefined")
        request_id = page.evaluate("document.body.dataset.lastErrorRequestId")
        deadline = time.monotonic() + 10
        while frontend_errors(server.url) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert frontend_errors(server.url) == 1
        logged = [json.loads(line) for line in server.log_path.read_text().splitlines()
                  if request_id in line and '"client_error"' in line]
        assert logged, f"no client_error line with request id {request_id}"
        assert "Cannot read properties of undefined" in logged[0]["error_message"]
        assert logged[0]["page"] == "dashboard" and logged[0]["kind"] == "unhandledrejection"
        assert "demo_widgets.js" in (logged[0].get("stack") or "")
    finally:
        context.close()
