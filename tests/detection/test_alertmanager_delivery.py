"""A real Alertmanager with the rendered config delivering to loopback peers of each receiver.

The peers check what they receive as the real services would: the license server's webhook
(Alertmanager's version 4 JSON), Slack (an incoming-webhook JSON payload, answered `ok` or
`400 invalid_payload` like Slack) and email (a real SMTP server, aiosmtpd). `amtool
check-config` accepts every variant the renderer can produce.
"""
from __future__ import annotations

import email
import email.policy
import itertools
import json
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

import pytest
import requests
import yaml

from license_demo import deploy_configs
from support.loopback_http import serve
from support.polling import until
from support.processes import free_port, spawn, wait_http

pytestmark = pytest.mark.stack
TOOL = "Vector - DaVinci Configurator SE"
MAIL_TO = "license-admins@license.test"
WEBHOOK_TOKEN = "capture-webhook-token"


def slack_payload_problems(headers, body: bytes) -> list[str]:
    """What Slack's incoming webhooks would refuse in a POST (empty when it is accepted)."""
    if headers.get("Content-Type", "").split(";")[0] != "application/json":
        return [f"Content-Type {headers.get('Content-Type')!r}, Slack wants application/json"]
    try:
        payload = json.loads(body)
    except ValueError:
        return ["body is not JSON"]
    problems = []
    if not (payload.get("text") or payload.get("attachments") or payload.get("blocks")):
        problems.append("no text, attachments or blocks")
    if "channel" in payload and not payload["channel"].startswith(("#", "@", "C")):
        problems.append(f"channel {payload['channel']!r}")
    for attachment in payload.get("attachments", []):
        if not (attachment.get("fallback") or attachment.get("text")):
            problems.append("attachment without fallback or text")
        for action in attachment.get("actions", []):
            if action.get("type") != "button" or not action.get("text") \
                    or not str(action.get("url", "")).startswith(("http://", "https://")):
                problems.append(f"action {action!r}")
    return problems


class _Peer(BaseHTTPRequestHandler):
    """Slack at /slack and the license server's webhook at /api/alerts/webhook."""

    received: list[tuple[str, dict]] = []
    refused: list[tuple[str, list[str]]] = []

    def do_POST(self):  # noqa: N802 (http.server naming)
        """Check the payload as the real endpoint would; record it if accepted."""
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        problems = slack_payload_problems(self.headers, body) if self.path == "/slack" else []
        if self.path == "/api/alerts/webhook":
            payload = json.loads(body)
            if payload.get("version") != "4" or not payload.get("alerts"):
                problems = ["not an Alertmanager version 4 webhook"]
            if self.headers.get("Authorization") != f"Bearer {WEBHOOK_TOKEN}":
                problems = [f"webhook credential {self.headers.get('Authorization')!r}"]
        if problems:
            self.refused.append((self.path, problems))
            self._answer(400, b"invalid_payload")
            return
        self.received.append((self.path, json.loads(body)))
        self._answer(200, b"ok")

    def _answer(self, status: int, text: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args):
        """Keep the test output quiet."""


class _Mailbox:
    """aiosmtpd handler keeping every message it is handed."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd naming)
        """Parse and store the message; answer 250."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory):
    """Alertmanager on loopback with webhook, Slack and email on, each to a loopback peer."""
    from aiosmtpd.controller import Controller

    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.fail("Alertmanager is not installed: run scripts/install-system-deps.sh")
    folder = tmp_path_factory.mktemp("alertmanager")
    peer, _ = serve(_Peer)
    peer_port = peer.server_address[1]
    mailbox = _Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    addresses = deploy_configs.native_addresses(peer_port, free_port(), port,
                                                  folder / "secrets")
    env = {"SLACK_WEBHOOK_URL": f"http://127.0.0.1:{peer_port}/slack",
           "SMTP_SMARTHOST": f"127.0.0.1:{smtp.port}", "SMTP_TO": MAIL_TO,
           "SMTP_FROM": "alerts@license.test", "SMTP_REQUIRE_TLS": "false"}
    _, config_path, notes = deploy_configs.write_configs(folder, addresses, "demo", env)
    deploy_configs.write_webhook_token(folder / "secrets", WEBHOOK_TOKEN)
    assert any(n.startswith("slack: on") for n in notes), notes
    process = spawn("alertmanager", [binary, f"--config.file={config_path}",
                                     f"--storage.path={folder / 'data'}",
                                     f"--web.listen-address=127.0.0.1:{port}",
                                     "--cluster.listen-address="], folder / "am.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30, proc=process.proc)
        yield f"http://127.0.0.1:{port}", _Peer, mailbox
    finally:
        process.stop()
        smtp.stop()
        peer.shutdown()


def _alert(name: str, severity: str, tool: str) -> dict:
    """An alert as Prometheus posts it, with the annotations our rules carry."""
    now = datetime.now(timezone.utc)
    return {
        "labels": {"alertname": name, "severity": severity, "tool": tool},
        "annotations": {
            "summary": f"{name} summary sentence.",
            "description": f"{tool} description with 75%.",
            # Slack buttons need an absolute URL: a deployment sets runbook_base_url to one.
            "runbook_url": f"https://runbooks.license.test/runbooks.md#{name.lower()}",
            "dashboard": "http://grafana.test/d/license-business-metrics/x?viewPanel=2",
            "logs": "http://grafana.test/explore?left=%7B%22expr%22%7D",
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
    }


def _posted(peer, path: str, alertname: str):
    """The first accepted POST to `path` that mentions `alertname`."""
    return next((body for p, body in list(peer.received)
                 if p == path and alertname in json.dumps(body)), None)


def test_warning_reaches_slack_and_webhook_with_links(alertmanager):
    """A warning is posted to Slack (a payload Slack accepts, all links) and the webhook."""
    url, peer, mailbox = alertmanager
    requests.post(f"{url}/api/v2/alerts", json=[_alert("HighOverageRate", "warning", TOOL)],
                  timeout=10).raise_for_status()
    slack = until(lambda: _posted(peer, "/slack", "HighOverageRate") or peer.refused)
    assert not peer.refused, peer.refused
    assert slack["channel"] == "#license-alerts"
    attachment = slack["attachments"][0]
    assert attachment["title"] == f"[FIRING:1] HighOverageRate · {TOOL}"
    for part in ("HighOverageRate summary sentence.", f"{TOOL} description with 75%.",
                 "Dashboard: http://grafana.test/d/license-business-metrics/x?viewPanel=2",
                 "Logs: http://grafana.test/explore?left=%7B%22expr%22%7D",
                 "Runbook: https://runbooks.license.test/runbooks.md#highoveragerate", "Severity: warning"):
        assert part in attachment["text"]
    buttons = {action["text"]: action["url"] for action in attachment["actions"]}
    assert buttons["Logs"] == "http://grafana.test/explore?left=%7B%22expr%22%7D"
    hook = until(lambda: _posted(peer, "/api/alerts/webhook", "HighOverageRate"))
    assert hook["groupLabels"] == {"alertname": "HighOverageRate", "tool": TOOL}
    assert hook["alerts"][0]["annotations"]["runbook_url"].endswith("runbooks.md#highoveragerate")
    assert not [m for _, m in mailbox.messages if "HighOverageRate" in m["Subject"]]
    assert not peer.refused, peer.refused


def test_critical_alert_is_mailed_with_subject_and_links(alertmanager):
    """A critical alert arrives by SMTP to SMTP_TO, with the title as subject and the links."""
    url, peer, mailbox = alertmanager
    requests.post(f"{url}/api/v2/alerts",
                  json=[_alert("OverageLimitReached", "critical", TOOL)],
                  timeout=10).raise_for_status()
    rcpt, message = until(lambda: next(
        ((r, m) for r, m in mailbox.messages if "OverageLimitReached" in m["Subject"]), None))
    assert rcpt == [MAIL_TO] and message["To"] == MAIL_TO
    assert message["From"] == "alerts@license.test"
    assert message["Subject"] == f"[FIRING:1] OverageLimitReached · {TOOL}"
    html = message.get_body(("html",)).get_content()
    assert "<h3>OverageLimitReached summary sentence.</h3>" in html
    assert 'href="https://runbooks.license.test/runbooks.md#overagelimitreached"' in html
    text = message.get_body(("plain",)).get_content()
    assert "Logs: http://grafana.test/explore?left=%7B%22expr%22%7D" in text
    until(lambda: _posted(peer, "/slack", "OverageLimitReached"))
    until(lambda: _posted(peer, "/api/alerts/webhook", "OverageLimitReached"))


def test_info_alert_goes_to_the_webhook_only(alertmanager):
    """Severity info is routed to the license server's webhook and not to Slack."""
    url, peer, _ = alertmanager
    requests.post(f"{url}/api/v2/alerts", json=[_alert("InfoOnly", "info", "Vector - CANoe")],
                  timeout=10).raise_for_status()
    until(lambda: _posted(peer, "/api/alerts/webhook", "InfoOnly"))
    time.sleep(1)  # Slack would be notified in the same flush as the webhook.
    assert _posted(peer, "/slack", "InfoOnly") is None


def test_slack_peer_refuses_what_slack_refuses():
    """The Slack stand-in is strict: no content, a bad button, a form post are refused."""
    json_headers = {"Content-Type": "application/json"}
    assert slack_payload_problems(json_headers, b'{"attachments": [{"fallback": "x"}]}') == []
    assert slack_payload_problems(json_headers, b"{}")
    assert slack_payload_problems(json_headers, json.dumps({"attachments": [
        {"text": "x", "actions": [{"type": "button", "text": "Logs", "url": "logs"}]}]}).encode())
    assert slack_payload_problems({"Content-Type": "application/x-www-form-urlencoded"}, b"x")


CHANNEL_ENVS = {
    "webhook only": {},
    "slack": {"SLACK_WEBHOOK_URL": "https://hooks.slack.test/services/T/B/X"},
    "email": {"SMTP_SMARTHOST": "smtp.license.test:587", "SMTP_TO": MAIL_TO,
              "SMTP_USERNAME": "alerts", "SMTP_PASSWORD": "pw"},
}
CHANNEL_ENVS["slack and email"] = {**CHANNEL_ENVS["slack"], **CHANNEL_ENVS["email"]}


def test_every_rendered_variant_passes_amtool(tmp_path):
    """compose, native and cloud targets x channels x profiles: amtool check-config accepts all."""
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.fail("amtool is missing: run scripts/install-system-deps.sh")
    native = deploy_configs.native_addresses(18000, 19090, 19093, tmp_path / "secrets")
    checked = 0
    for (name, env), profile, target in itertools.product(
            CHANNEL_ENVS.items(), deploy_configs.PROFILES, ("compose", "native", "cloud")):
        if target == "cloud":
            config, _ = deploy_configs.render_cloud_alertmanager(
                "https://license-demo.fly.dev", profile, env)
        else:
            config, _ = deploy_configs.render_alertmanager(
                deploy_configs.COMPOSE if target == "compose" else native, profile, env)
        receivers = {r["name"]: r for r in config["receivers"]}
        assert ("slack_configs" in receivers["warning"]) == ("slack" in name), (name, target)
        assert ("email_configs" in receivers["critical"]) == ("email" in name), (name, target)
        path = tmp_path / f"{target}-{profile}-{name.replace(' ', '-')}.yml"
        path.write_text(yaml.safe_dump(config))
        done = subprocess.run([amtool, "check-config", str(path)], capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0, (path.name, done.stdout, done.stderr)
        checked += 1
    assert checked == 24


def test_out_of_the_box_config_notifies_only_the_webhook():
    """The committed file and a render without secrets name no Slack, SMTP host or mailbox."""
    committed = yaml.safe_load(deploy_configs.ALERTMANAGER_SOURCE.read_text())
    rendered, notes = deploy_configs.render_alertmanager(deploy_configs.COMPOSE, "demo", {})
    for config in (committed, rendered):
        assert not [k for k in config["global"] if k.startswith("smtp_")]
        for receiver in config["receivers"]:
            assert set(receiver) == {"name", "webhook_configs"}, receiver["name"]
    assert "slack: off" in " ".join(notes) and "email: off" in " ".join(notes)


def test_cloud_config_inlines_secrets_and_points_at_the_app():
    """The hosted variant reads no local file and notifies the public server URL."""
    config, _ = deploy_configs.render_cloud_alertmanager(
        "https://license-demo.fly.dev/", "production",
        {**CHANNEL_ENVS["slack and email"], "ALERT_WEBHOOK_TOKEN": "hook-secret"})
    text = yaml.safe_dump(config)
    assert "_file" not in text and "/etc/alertmanager" not in text
    assert config["global"]["smtp_auth_password"] == "pw"
    hooks = {h["url"] for r in config["receivers"] for h in r["webhook_configs"]}
    assert hooks == {"https://license-demo.fly.dev/api/alerts/webhook"}
    tokens = {h["http_config"]["authorization"]["credentials"]
              for r in config["receivers"] for h in r["webhook_configs"]}
    assert tokens == {"hook-secret"}


def test_compose_secrets_land_in_the_mounted_folder(tmp_path):
    """For compose the Slack URL and SMTP password go to <out>/secrets (0600), never the config."""
    env = {**CHANNEL_ENVS["slack and email"]}
    _, config_path, _ = deploy_configs.write_configs(tmp_path, deploy_configs.COMPOSE,
                                                       "demo", env)
    text = config_path.read_text()
    assert env["SLACK_WEBHOOK_URL"] not in text and "pw" not in text.split()
    config = yaml.safe_load(text)
    slack = config["receivers"][1]["slack_configs"][0]
    assert slack["api_url_file"] == "/etc/alertmanager/secrets/slack-webhook-url"
    for name, value in (("slack-webhook-url", env["SLACK_WEBHOOK_URL"]), ("smtp-password", "pw")):
        secret = tmp_path / "secrets" / name
        assert secret.read_text().strip() == value
        assert secret.stat().st_mode & 0o777 == 0o600
