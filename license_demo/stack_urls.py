"""Find the running native stack: the URLs `license-demo stack` recorded in <data-dir>/urls.json."""
from __future__ import annotations

import json
import os
from pathlib import Path

DEFAULT_DATA_DIR = ".stack"


def recorded(key: str, data_dir: str | Path | None = None) -> str | None:
    """The URL `key` (server, prometheus, alertmanager) of the stack in `data_dir`, if recorded.

    `data_dir` defaults to $LICENSE_DEMO_STACK_DIR, else .stack in the current directory.
    """
    folder = Path(data_dir or os.environ.get("LICENSE_DEMO_STACK_DIR") or DEFAULT_DATA_DIR)
    try:
        value = json.loads((folder / "urls.json").read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    return value or None


def default_url(key: str, env_var: str, fallback: str) -> str:
    """A command's default URL: $env_var, else the running stack's record, else `fallback`."""
    return os.environ.get(env_var) or recorded(key) or fallback
