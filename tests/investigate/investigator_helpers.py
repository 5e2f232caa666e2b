"""Helpers of the investigator tests: run the CLI as an operator would, compare facts with Prometheus."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import requests

from rule_source.promql import grew

DAVINCI = "Vector - DaVinci Configurator SE"


def cli_env(stack, audit_path, server_url: str | None = None) -> dict:
    """Environment pointing license-demo at the stack, with the audit log in the test's folder."""
    return {**os.environ, "LICENSE_SERVER_URL": server_url or stack.server_url,
            "PROMETHEUS_URL": stack.prometheus_url, "ALERTMANAGER_URL": stack.alertmanager_url,
            "ADMIN_TOKEN": stack.admin_token, "INVESTIGATOR_AUDIT_LOG": str(audit_path), "LOKI_URL": ""}


def investigate(env: dict, *args: str, stdin=subprocess.DEVNULL, timeout: float = 150) -> tuple[int, dict, str]:
    """Run `license-demo investigate ... --json`; return exit code, the JSON result and stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "license_demo.cli", "investigate", *args, "--json"],
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = proc.communicate(timeout=timeout)
    assert out.strip(), f"no JSON on stdout; stderr:\n{err}"
    return proc.returncode, json.loads(out), err


def investigate_at_terminal(env: dict, answer: str, *args: str) -> tuple[int, dict, str]:
    """Run with --apply behind a pseudo-terminal and type `answer` at the approval prompt."""
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "license_demo.cli", "investigate", *args, "--apply",
                                 "--json"], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, text=True)
        os.close(slave)
        os.write(master, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=150)
    finally:
        os.close(master)
    return proc.returncode, json.loads(out), err


def prom_value(stack, expr: str, at: float | None = None) -> float | None:
    """One value of an instant query (at `at`), or None when the answer is empty."""
    params = {"query": expr, **({"time": f"{at:.3f}"} if at else {})}
    result = requests.get(stack.prometheus_url + "/api/v1/query", params=params, timeout=10).json()
    rows = result["data"]["result"]
    return float(rows[0]["value"][1]) if rows else None


def wait_prom(stack, expr: str, predicate, timeout: float = 40) -> float | None:
    """Poll `expr` until `predicate(value)` holds; fail with the last value after `timeout`."""
    deadline, value = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        value = prom_value(stack, expr)
        if predicate(value):
            return value
        time.sleep(0.5)
    raise AssertionError(f"{expr} stayed at {value} for {timeout:.0f}s")


def fact(result: dict, key: str) -> dict:
    """The fact `key` of an investigation result."""
    facts = {f["key"]: f for f in result["evidence"]["facts"]}
    assert key in facts, f"no fact {key}; facts: {sorted(facts)}"
    return facts[key]


def assert_matches_prometheus(stack, result: dict, *keys: str) -> None:
    """Each numeric fact equals what Prometheus answers to the same query at the same instant."""
    at = result["evidence"]["at_epoch"]
    for key in keys:
        f = fact(result, key)
        assert f["source"] == "prometheus", f
        seen = prom_value(stack, f["query"], at)
        if seen is None:
            # An empty answer (no such series yet) counts as 0, as the investigator states.
            assert f["value"] == 0, (key, f, seen)
            continue
        # Values are kept to 4 decimals (ratios the investigator divides itself to 3).
        assert abs(seen - f["value"]) <= 0.0005, (key, f, seen)


def incident(stack, incident_id: str) -> dict:
    """The incident as the server answers it."""
    response = requests.get(f"{stack.server_url}/api/incidents/{incident_id}", timeout=10)
    response.raise_for_status()
    return response.json()


def audit_records(path) -> list[dict]:
    """Every line of the audit log."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fresh(stack, quiet_seconds: int | None = None) -> None:
    """Fresh demo state: seats, config, faults and deployments (reset clears them all).

    With `quiet_seconds`, also wait until no checkout of earlier tests on the shared stack
    remains in that window, so window-based shares only see this test's traffic.
    """
    stack.reset()
    if quiet_seconds:
        # The investigator's own window arithmetic: increase() would miss series born in the window.
        grown = grew("license_checkouts_by_user_total", "", quiet_seconds)
        wait_prom(stack, f"({grown}) or vector(0)", lambda v: v == 0, timeout=quiet_seconds + 30)
