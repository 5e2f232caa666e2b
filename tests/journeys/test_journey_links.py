"""Every page a journey tells the presenter to open answers on the native stack."""
from __future__ import annotations

import pytest
import requests

from license_demo.journeys import journey_runner
from license_demo.clients import AlertmanagerClient, PrometheusClient, ServerClient
from license_demo.journeys.catalogue import JOURNEYS

pytestmark = pytest.mark.stack


def test_every_act_link_answers_on_the_native_stack(native_stack):
    """No Grafana, Debian's Alertmanager without UI, Prometheus 2.42's classic pages: each
    printed URL of every act of every journey answers 200 and none points at Grafana."""
    ctx = journey_runner.JourneyContext(server=ServerClient(native_stack.server_url, native_stack.admin_token),
                         prometheus=PrometheusClient(native_stack.prometheus_url),
                         alertmanager=AlertmanagerClient(native_stack.alertmanager_url),
                         grafana=None, mode="guided", grafana_url="http://localhost:3000")
    urls = {url for journey in JOURNEYS.values() for act in journey.acts
            for url in journey_runner.act_urls(ctx, act.show)}
    assert f"{native_stack.server_url}/config" in urls
    assert not any("localhost:3000" in url or "/#/" in url for url in urls), urls
    for url in sorted(urls):
        assert requests.get(url, timeout=10).status_code == 200, url
