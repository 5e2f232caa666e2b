"""What the preflight checks against: the URLs and credentials of one demo stack."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent.parent
STORY_TOOLS_FILE = REPO / "license_server" / "tools.yaml"
# The story's tool: its stress test is the demo's trigger.
STORY_TOOL = "Vector - DaVinci Configurator SE"
# A tool outside the story for the probes that borrow, so the story's numbers stay untouched.
PROBE_TOOL = "MathWorks - MATLAB/Simulink"
TIMEOUT = 10


@dataclass
class Targets:
    """URLs and credentials (empty: not part of this stack) and the preflight's options."""

    server: str
    admin_token: str | None = None
    prometheus: str = ""
    alertmanager: str = ""
    loki: str = ""
    loki_user: str | None = None
    loki_password: str | None = None
    grafana: str = ""
    grafana_token: str | None = None
    datasource_uids: list[str] = field(default_factory=list)
    tools_file: Path = STORY_TOOLS_FILE
    reset: bool = False
    stress_test: bool = True
    clock_tolerance: float = 1.0
    # The native stack's baseline load runs against this server: its seats are normal operations.
    baseline: bool = False

    def __post_init__(self):
        """Drop trailing slashes so paths can be appended."""
        for name in ("server", "prometheus", "alertmanager", "loki", "grafana"):
            setattr(self, name, (getattr(self, name) or "").rstrip("/"))


def get(url: str, **kwargs) -> requests.Response:
    """GET with the preflight's timeout; raises requests.RequestException when unreachable."""
    return requests.get(url, timeout=kwargs.pop("timeout", TIMEOUT), **kwargs)


def short_error(exc: Exception) -> str:
    """A connection error in a few words (requests' messages run to several lines)."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Temporary failure in name resolution", "No route to host"):
        if marker in text:
            return marker.lower()
    return text[:160]
