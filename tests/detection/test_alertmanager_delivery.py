"""A real Alertmanager with the rendered config: routing by severity and the notification texts."""
from __future__ import annotations

import json
import shutil
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import yaml

from license_demo import detection_config
from license_demo.processes import free_port, spawn, wait_http

pytestmark = pytest.mark.stack
WEBHOOK_TOKEN = "capture-webhook-token"


class _Capture(BaseHTTPRequestHandler):
    """Record every POST body by path (stands in for Slack's and the server's endpoints)."""

    received: list[tuple[str, dict]] = []
    authorization: dict[str, str] = {}

    def do_POST(self):  # noqa: N802 (http.server naming)
        """Store the JSON body (and the credential sent) and answer 200."""
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.authorization[self.path] = self.headers.get("Authorization", "")
        self.received.append((self.path, json.loads(body or b"{}")))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory):
    """Alertmanager on loopback whose webhook and Slack receivers post to a capture server."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.fail("Alertmanager is not installed: run scripts/install-system-deps.sh")
    folder = tmp_path_factory.mktemp("alertmanager")
    capture = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=capture.serve_forever, daemon=True).start()
    capture_port = capture.server_address[1]
    slack_file = folder / "slack-url"
    slack_file.write_text(f"http://127.0.0.1:{capture_port}/slack\n")
    port = free_port()
    addresses = detection_config.native_addresses(capture_port, free_port(), port,
                                                  folder / "secrets")
    config, _ = detection_config.render_alertmanager(
        addresses, "demo", {"SLACK_WEBHOOK_URL_FILE": str(slack_file)})
    detection_config.write_webhook_token(folder / "secrets", WEBHOOK_TOKEN)
    (folder / "alertmanager.yml").write_text(yaml.safe_dump(config))
    process = spawn("alertmanager", [binary, f"--config.file={folder / 'alertmanager.yml'}",
                                     f"--storage.path={folder / 'data'}",
                                     f"--web.listen-address=127.0.0.1:{port}",
                                     "--cluster.listen-address="], folder / "am.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30, proc=process.proc)
        yield f"http://127.0.0.1:{port}", _Capture.received
    finally:
        process.stop()
        capture.shutdown()


def _alert(name: str, severity: str, tool: str) -> dict:
    """An alert as Prometheus posts it, with the annotations our rules carry."""
    now = datetime.now(timezone.utc)
    return {
        "labels": {"alertname": name, "severity": severity, "tool": tool},
        "annotations": {
            "summary": f"{name} summary sentence.",
            "description": f"{tool} description with 75%.",
            "runbook_url": f"docs/runbooks.md#{name.lower()}",
            "dashboard": "http://grafana.test/d/license-business-metrics/x?viewPanel=2",
            "logs": "http://grafana.test/explore?left=%7B%22expr%22%7D",
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
    }


def _wait_for(received, predicate, timeout=30.0):
    """Wait until a captured notification satisfies `predicate`; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path, body in list(received):
            if predicate(path, body):
                return path, body
        time.sleep(0.2)
    raise AssertionError(f"no matching notification within {timeout}s; got {received!r}")


def test_warning_reaches_slack_and_webhook_with_links(alertmanager):
    """A warning alert is posted to Slack (templated text with all links) and the webhook."""
    url, received = alertmanager
    tool = "Vector - DaVinci Configurator SE"
    response = requests.post(f"{url}/api/v2/alerts",
                             json=[_alert("HighOverageRate", "warning", tool)], timeout=10)
    assert response.status_code == 200
    _, slack = _wait_for(received, lambda p, b: p == "/slack"
                         and "HighOverageRate" in json.dumps(b))
    attachment = slack["attachments"][0]
    assert attachment["title"] == f"[FIRING:1] HighOverageRate · {tool}"
    text = attachment["text"]
    for part in ("HighOverageRate summary sentence.", f"{tool} description with 75%.",
                 "Dashboard: http://grafana.test/d/license-business-metrics/x?viewPanel=2",
                 "Logs: http://grafana.test/explore?left=%7B%22expr%22%7D",
                 "Runbook: docs/runbooks.md#highoveragerate", "Severity: warning"):
        assert part in text
    buttons = {action["text"]: action["url"] for action in attachment["actions"]}
    assert buttons["Logs"] == "http://grafana.test/explore?left=%7B%22expr%22%7D"
    _, hook = _wait_for(received, lambda p, b: p == "/api/alerts/webhook"
                        and b.get("groupLabels", {}).get("alertname") == "HighOverageRate")
    assert hook["version"] == "4"
    assert _Capture.authorization["/api/alerts/webhook"] == f"Bearer {WEBHOOK_TOKEN}"
    assert hook["groupLabels"] == {"alertname": "HighOverageRate", "tool": tool}
    assert hook["alerts"][0]["annotations"]["runbook_url"] == "docs/runbooks.md#highoveragerate"


def test_info_alert_goes_to_the_webhook_only(alertmanager):
    """Severity info is routed to the license server's webhook and not to Slack."""
    url, received = alertmanager
    requests.post(f"{url}/api/v2/alerts", json=[_alert("InfoOnly", "info", "Vector - CANoe")],
                  timeout=10).raise_for_status()
    _wait_for(received, lambda p, b: p == "/api/alerts/webhook"
              and b.get("groupLabels", {}).get("alertname") == "InfoOnly")
    time.sleep(1)  # Slack would be notified in the same flush as the webhook.
    assert not [b for p, b in received if p == "/slack" and "InfoOnly" in json.dumps(b)]
