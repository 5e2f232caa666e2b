"""The `license-demo stack` subcommand: help, missing packages, start, print URLs, clean stop."""
from __future__ import annotations

import json
import os
import re
import select
import socket
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from support.polling import until
from support.processes import free_port

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


def test_a_busy_port_is_a_clear_error_with_the_fix(tmp_path):
    """--server-port on a port something listens on stops before starting anything."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([*CLI, "stack", "--data-dir", str(tmp_path), "--server-port",
                                 str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {port} (server) is already in use" in result.stdout
    assert "--server-port N" in result.stdout and "ss -ltnp" in result.stdout
    assert not (tmp_path / "urls.json").exists()


def _prometheus_alerts(prometheus: str, alertname: str) -> list[dict]:
    """ALERTS series of `alertname` on the stack's Prometheus."""
    response = requests.get(f"{prometheus}/api/v1/query", timeout=10,
                            params={"query": f'ALERTS{{alertname="{alertname}"}}'})
    return response.json()["data"]["result"]


@pytest.mark.stack
def test_stack_starts_prints_urls_and_stops_on_ctrl_c(tmp_path):
    """The stack comes up on the given ports, answers on every URL, survives a dead server,
    and Ctrl-C stops it all."""
    ports = {"server": free_port(), "prometheus": free_port(), "alertmanager": free_port()}
    data_dir = tmp_path / "stack"
    argv = [*CLI, "stack", "--data-dir", str(data_dir), "--admin-token", "cli-token",
            "--server-port", str(ports["server"]), "--prometheus-port", str(ports["prometheus"]),
            "--alertmanager-port", str(ports["alertmanager"]), "--server-restart", "12"]
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
        assert len(urls) >= 9, listed
        for url in urls:
            assert requests.get(url, timeout=10).status_code == 200, url
        server, prometheus = (f"http://127.0.0.1:{ports[k]}" for k in ("server", "prometheus"))
        assert f"{server}/config" in urls and "Baseline:" in text
        # Debian's Prometheus 2.42 serves only the classic UI; no link to its missing pages.
        assert not any(re.search(rf":{ports['prometheus']}/(alerts|graph)", u) for u in urls)
        recorded = json.loads((data_dir / "urls.json").read_text())
        assert recorded["server"] == server and recorded["prometheus"] == prometheus
        # The baseline keeps seats in use, all within commit.
        tools = until(lambda: [t for t in requests.get(f"{server}/api/tools", timeout=10).json()
                                if t["in_use"]], 30, "baseline seats in use")
        assert all(t["overage_in_use"] == 0 for t in tools)
        # The server dies: Prometheus and Alertmanager stay, LicenseServerDown fires, the
        # stack starts the server again.
        os.kill(recorded["pids"]["license-server"], signal.SIGKILL)
        firing = until(lambda: [a for a in _prometheus_alerts(prometheus, "LicenseServerDown")
                                 if a["metric"]["alertstate"] == "firing"], 40,
                        "LicenseServerDown firing")
        assert firing
        until(lambda: _server_ok(server), 60, "the license server restarted")
        assert requests.get(f"http://127.0.0.1:{ports['alertmanager']}/-/ready",
                            timeout=5).status_code == 200
        restarted = "".join(output) + _read_available(process)
        assert "LicenseServerDown fires; restarting it in 12s" in restarted
    finally:
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    assert "stopped" in rest
    for port in ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)


def _server_ok(url: str) -> bool:
    """True when the license server answers /readyz."""
    try:
        return requests.get(f"{url}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _read_available(process) -> str:
    """The output lines `process` has written so far, without blocking."""
    lines = []
    while select.select([process.stdout], [], [], 0.5)[0]:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
    return "".join(lines)
