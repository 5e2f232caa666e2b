"""Preflight fixtures: the shared stack reset and quiet, a small stack of its own to break."""
from __future__ import annotations

import time

import pytest

from license_demo.stack.stack import Stack, StackSettings


def wait_until_quiet(stack, timeout: float = 150.0) -> None:
    """Reset the shared stack and wait until Prometheus holds no firing alert from earlier tests."""
    stack.reset()
    deadline = time.monotonic() + timeout
    while stack.query('ALERTS{alertstate="firing"}') and time.monotonic() < deadline:
        time.sleep(1)


@pytest.fixture()
def quiet_stack(native_stack):
    """The shared native stack, reset and without firing alerts; reset again afterwards."""
    wait_until_quiet(native_stack)
    yield native_stack
    native_stack.reset()
    for fault in native_stack.admin("GET", "/api/faults").json():
        if fault["variant"] != "off":
            native_stack.admin("PUT", f"/api/faults/{fault['name']}", {"variant": "off"})


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    """A small native stack for the breakages that must not touch the shared one."""
    settings = StackSettings(data_dir=tmp_path_factory.mktemp("preflight-stack"),
                             admin_token="preflight-token", profile="demo", server_workers=1)
    stack = Stack(settings).start(timeout=60)
    yield stack
    stack.stop()
