"""Where the load goes: local, Fly.io production or a custom URL, and whether it answers."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import requests

from stress_test.headers import request_headers
from stress_test.tool_catalog import read_tools

LOCAL_URL = "http://localhost:8000"


def local_url(repo_root: Path) -> str:
    """The local server: the one a running `license-demo stack` recorded, else LOCAL_URL.

    The stack writes <repo>/.stack/urls.json (its default data folder), so a stack that
    had to move off a busy port 8000 is still the `local` target.
    """
    import json
    try:
        recorded = json.loads((repo_root / ".stack" / "urls.json").read_text()).get("server")
    except (OSError, ValueError, AttributeError):
        recorded = None
    return recorded or LOCAL_URL


class TargetError(Exception):
    """The target cannot be used; the message says what to do next."""


def fly_url(repo_root: Path, environ: dict) -> str | None:
    """The production URL: $FLY_APP_URL, else https://<app>.fly.dev from the repo's fly.toml."""
    if environ.get("FLY_APP_URL"):
        return environ["FLY_APP_URL"].rstrip("/")
    try:
        app = tomllib.loads((repo_root / "fly.toml").read_text()).get("app")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return f"https://{app}.fly.dev" if app else None


def validate_url(url: str) -> str:
    """`url` without a trailing slash, or TargetError when it is not an http(s) URL."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise TargetError(f"{url!r} is not a server URL; give one like http://localhost:8000 "
                          "or https://<app>.fly.dev")
    return url.strip().rstrip("/")


def resolve(choice: str, repo_root: Path, environ: dict | None = None) -> str:
    """The URL for a --target value: `local`, `fly` (or `production`) or a URL."""
    environ = os.environ if environ is None else environ
    if choice == "local":
        return local_url(repo_root)
    if choice in ("fly", "production"):
        url = fly_url(repo_root, environ)
        if not url:
            raise TargetError("no Fly.io app is configured: set FLY_APP_URL=https://<app>.fly.dev, "
                              f"or add a fly.toml with app = \"<name>\" to {repo_root}")
        return url
    return validate_url(choice)


def check_health(url: str, timeout: float = 5.0) -> None:
    """Raise TargetError, saying what to do, unless GET <url>/healthz answers 200 {"status": "ok"}."""
    start_hint = ("Start it (`make demo`, or `python -m license_server --port 8000` from the "
                  "repository) and run again, or choose another target with --target.")
    try:
        response = requests.get(f"{url}/healthz", headers=request_headers(), timeout=timeout)
    except requests.ConnectionError as exc:
        raise TargetError(f"no license server answers at {url} ({_reason(exc)}). {start_hint}") from exc
    except requests.Timeout as exc:
        raise TargetError(f"{url}/healthz did not answer within {timeout:.0f}s. The server may be "
                          "overloaded or starting; check it and run again.") from exc
    except requests.RequestException as exc:
        raise TargetError(f"cannot reach {url}: {exc}. {start_hint}") from exc
    if response.status_code != 200:
        raise TargetError(f"{url}/healthz answered HTTP {response.status_code}: the server is up "
                          "but not healthy. Check its log (or `fly logs`) and run again.")
    try:
        healthy = response.json().get("status") == "ok"
    except (ValueError, AttributeError):
        healthy = False
    if not healthy:
        raise TargetError(f"{url} answers, but not like the license server (/healthz did not "
                          "return {\"status\": \"ok\"}). Check the URL.")


def _reason(exc: Exception) -> str:
    """A short cause for a connection error."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "nodename nor servname",
                   "No route to host", "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower()
    return text[:160]


def fetch_tools(url: str, timeout: float = 10.0) -> list[dict]:
    """The server's tool catalog (GET /api/tools); TargetError when it cannot be read."""
    try:
        tools = read_tools(url, timeout)
    except (requests.RequestException, ValueError) as exc:
        raise TargetError(f"cannot read the tool list from {url}/api/tools ({exc}).") from exc
    if not tools:
        raise TargetError(f"{url} serves no tools; reset it to the demo catalog "
                          "(POST /api/reset with the admin token) and run again.")
    return tools
