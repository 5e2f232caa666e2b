"""Alertmanager's webhook: keep each alert's latest notification, log it, list them."""
from __future__ import annotations

import hashlib
import json
import logging

from flask import current_app
from opentelemetry import trace

from license_server import incident_rule, metrics
from license_server.db import get_store
from license_server.openapi import Blueprint
from license_server.logs import log_event
from license_server.schemas import (AlertQuerySchema, ErrorSchema, ReceivedAlertSchema,
                                    ReceivedSchema, WebhookSchema)

tracer = trace.get_tracer(__name__)
bp = Blueprint("alerts", __name__, url_prefix="/api/alerts",
               description="Notifications received from Alertmanager.")


def fingerprint(alert: dict) -> str:
    """Alertmanager's fingerprint, or a stable hash of the labels when it sent none."""
    if alert.get("fingerprint"):
        return alert["fingerprint"]
    return hashlib.sha256(json.dumps(alert["labels"], sort_keys=True).encode()).hexdigest()[:16]


def metric_name(name: str) -> str:
    """`name` when it is an alert of the rule set, else "other": the label stays bounded."""
    return name if name in current_app.extensions["alert_names"] else "other"


@bp.post("/webhook")
@bp.webhook_auth
@bp.arguments(WebhookSchema)
@bp.response(200, ReceivedSchema)
@bp.alt_response(400, schema=ErrorSchema)
def webhook(payload):
    """Receive a notification from Alertmanager (webhook_configs url, bearer ALERT_WEBHOOK_TOKEN)."""
    store = get_store()
    for alert in payload["alerts"]:
        name = alert["labels"].get("alertname", "unnamed")
        store.record_alert(fingerprint(alert), name, alert["status"], alert)
        metrics.ALERT_NOTIFICATIONS.labels(alertname=metric_name(name), status=alert["status"]).inc()
        log_event("alert_notification", f"Alert {name} {alert['status']}: "
                  f"{alert['annotations'].get('summary', '')}",
                  level=logging.WARNING if alert["status"] == "firing" else logging.INFO,
                  alertname=name, status=alert["status"], tool=alert["labels"].get("tool"),
                  severity=alert["labels"].get("severity"), receiver=payload.get("receiver"))
    with tracer.start_as_current_span("incident handling", attributes={
            "license.alerts": len(payload["alerts"])}):
        incident_rule.receive(store, payload["alerts"], current_app.extensions["incident_policy"])
    return {"received": len(payload["alerts"])}


@bp.get("")
@bp.arguments(AlertQuerySchema, location="query")
@bp.response(200, ReceivedAlertSchema(many=True))
def list_alerts(query):
    """The latest notification of every alert received, newest first."""
    return get_store().alerts(status=query.get("status"))
