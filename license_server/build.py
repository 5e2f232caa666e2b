"""The version and commit the server process was started with (build info)."""
from __future__ import annotations


def base_build(config) -> dict:
    """The version the server process was started with: APP_VERSION and GIT_COMMIT."""
    return {"version": config.get("APP_VERSION") or "unknown",
            "commit": config.get("GIT_COMMIT") or "unknown", "deployed_at": None, "faults": {}}


def build_info_reader(app):
    """A function returning the running version: the started one, unless the demo's
    deployments replaced this reader (license_server/demo) with the newest deployment."""
    return lambda: base_build(app.config)
