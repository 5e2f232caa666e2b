"""Fixtures for the Grafana tests: the generated dashboards and a native stack after a stress-like load."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from stack_load import run_load

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "grafana"))


@pytest.fixture(scope="session")
def generated_dashboards() -> dict:
    """{file name: dashboard JSON} as grafana/generate.py builds them from the Python."""
    import generate
    return generate.load_dashboards()


@pytest.fixture(scope="session")
def loaded_stack(native_stack):
    """The session's native stack right after a 15 s load, scraped at least twice since."""
    summary = run_load(native_stack)
    time.sleep(11)  # two 5 s scrapes and rule evaluations after the load
    native_stack.load_summary = summary
    yield native_stack
    try:
        native_stack.admin("POST", "/api/deployments/rollback")
    except Exception:  # noqa: BLE001 - nothing to roll back is fine
        pass
    native_stack.admin("PUT", "/api/faults/borrow_errors", json={"variant": "off"})
    native_stack.reset()


@pytest.fixture(scope="session")
def server_log_lines(loaded_stack) -> list[dict]:
    """Every JSON line the loaded stack's license server wrote to stdout."""
    log_path = loaded_stack.processes[0].log_path
    lines = []
    for raw in log_path.read_text(errors="replace").splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                continue
    return lines
