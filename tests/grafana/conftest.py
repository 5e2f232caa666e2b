"""Fixtures for the Grafana tests: the generated dashboards and a native stack after a stress-like load."""
from __future__ import annotations

import time

import pytest

from stack_load import StackLoad


@pytest.fixture(scope="session")
def generated_dashboards() -> dict:
    """{file name: dashboard JSON} as grafana/generate.py builds them from the Python."""
    from grafana import generate
    return generate.load_dashboards()


@pytest.fixture(scope="module")
def loaded_stack(native_stack):
    """The session's native stack under a stress-like load while this module's tests run.

    Module scope: the load stops (and the stack is reset) as soon as the module is done, so
    the other folders' tests that share the native stack never see it.
    """
    load = StackLoad(native_stack).start()
    time.sleep(26)  # a full load cycle, then two 5 s scrapes and rule evaluations
    assert not load.errors, load.errors
    native_stack.load = load
    yield native_stack
    load.stop()
