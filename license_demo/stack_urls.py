"""Find the running native stack: the URLs `license-demo stack` recorded in <data-dir>/urls.json."""
from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_DATA_DIR = ".stack"


URLS_FILE = "urls.json"
# The running stack's admin token, owner-only, next to Alertmanager's webhook credential.
ADMIN_TOKEN_FILE = "config/secrets/admin-token"


def stack_folder(data_dir: str | Path | None = None) -> Path:
    """`data_dir`, else $LICENSE_DEMO_STACK_DIR, else .stack in the current directory."""
    return Path(data_dir or os.environ.get("LICENSE_DEMO_STACK_DIR") or DEFAULT_DATA_DIR).expanduser()


def recorded(key: str, data_dir: str | Path | None = None) -> str | None:
    """The URL `key` (server, prometheus, alertmanager) of the stack in `data_dir`, if recorded."""
    try:
        value = json.loads((stack_folder(data_dir) / URLS_FILE).read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    return value or None


def recorded_admin_token(data_dir: str | Path | None = None) -> str | None:
    """The admin token of the stack running from `data_dir`, if one runs there."""
    folder = stack_folder(data_dir)
    if not (folder / URLS_FILE).is_file():
        return None
    try:
        return (folder / ADMIN_TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None


def default_url(key: str, env_var: str, fallback: str) -> str:
    """A command's default URL: $env_var, else the running stack's record, else `fallback`."""
    return os.environ.get(env_var) or recorded(key) or fallback
