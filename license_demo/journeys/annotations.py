"""Mark each demo act: always through the server's act marker, and in Grafana when configured."""
from __future__ import annotations

import time

from license_demo.clients import DemoError, GrafanaClient, ServerClient


def mark_act(server: ServerClient, grafana: GrafanaClient | None, journey: str, act: str,
             title: str, warn=print) -> float:
    """Record the start of `act` and return its timestamp; a Grafana failure only warns."""
    at = time.time()
    server.mark_act(journey, act)
    if grafana is not None:
        try:
            grafana.annotate(f"{journey}: {title}", ["license-demo", journey, act], int(at * 1000))
        except (DemoError, OSError) as exc:
            # The server-side mark already carries the act; a missing Grafana must not stop a demo.
            warn(f"  (Grafana annotation skipped: {exc})")
    return at
