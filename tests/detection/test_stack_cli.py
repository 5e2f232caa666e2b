"""The `license-demo stack` subcommand: help, missing packages, start, print URLs, clean stop."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from license_demo.processes import free_port

CLI = [sys.executable, "-m", "license_demo.cli"]


def test_help_lists_the_stack_subcommand():
    """`license-demo --help` names the stack subcommand and its options are documented."""
    top = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=30)
    assert top.returncode == 0 and "stack" in top.stdout
    sub = subprocess.run([*CLI, "stack", "--help"], capture_output=True, text=True, timeout=30)
    assert "--install" in sub.stdout and "--profile" in sub.stdout


def test_missing_binaries_name_the_debian_packages(tmp_path):
    """Without Prometheus and Alertmanager on PATH the command says what to install."""
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([*CLI, "stack", "--data-dir", str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "prometheus prometheus-alertmanager" in result.stdout
    assert "apt-get install" in result.stdout and "--install" in result.stdout


@pytest.mark.stack
def test_stack_starts_prints_urls_and_stops_on_ctrl_c(tmp_path):
    """The stack comes up on the given ports, answers on every URL, and Ctrl-C stops it all."""
    ports = {"server": free_port(), "prometheus": free_port(), "alertmanager": free_port()}
    argv = [*CLI, "stack", "--data-dir", str(tmp_path / "stack"), "--admin-token", "cli-token",
            "--server-port", str(ports["server"]), "--prometheus-port", str(ports["prometheus"]),
            "--alertmanager-port", str(ports["alertmanager"])]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(output)
        assert "Press Ctrl-C" in text, text
        for port in ports.values():
            assert f"127.0.0.1:{port}" in text
        assert "cli-token" in text
        listed = "".join(line for line in output if "alert delivery" not in line)
        urls = re.findall(r"(http://127\.0\.0\.1:\d+\S*)", listed)
        assert len(urls) >= 7, listed
        for url in urls:
            assert requests.get(url, timeout=10).status_code == 200, url
    finally:
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "stopped" in rest
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
