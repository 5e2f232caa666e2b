"""The README's commands, exactly as written, in a fresh copy of the repository.

The repository's files (what `git clone` would give, with uncommitted edits) are copied
into a temporary folder and the presenter's commands run there in pseudo-terminals, with
their defaults: `make demo`, then `make stack` (relative `.stack`, ports 8000, 9090 and
9093), `license-demo preflight --reset` with every line ✓, the guide's Part 2 through
`cd stress_test && ./run_stress_test.sh` (heavy, full cycle, DaVinci Configurator SE, the
default team) until HighOverageRate reaches the server's webhook and the incident opens,
Ctrl-C, and a second `make stack` seconds later on the same ports.

The copy shares this checkout's virtual environment (a symlinked `.venv`, so `make` finds
it installed) and imports its own code first (PYTHONPATH), so what runs is the copy.
A default port already taken fails the test with what holds it: nothing moves silently.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pexpect
import pytest
import requests

from license_demo.stack.stack import STANDARD_PORTS
from support.polling import wait_for

pytestmark = pytest.mark.stack

REPO = Path(__file__).resolve().parents[2]
SERVER = f"http://127.0.0.1:{STANDARD_PORTS['server']}"
DAVINCI = "Vector - DaVinci Configurator SE"
BUILD_TEAM = "body-electronics"  # the menu's default team
# Variables that would point the commands somewhere else than their defaults.
OVERRIDES = ("ADMIN_TOKEN", "LICENSE_SERVER_URL", "PROMETHEUS_URL", "ALERTMANAGER_URL",
             "LICENSE_DEMO_STACK_DIR", "LOKI_URL", "GRAFANA_URL", "DATABASE_URL", "PORT", "HOST")


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The repository's files, as a clone of this working tree would have them, in a new folder."""
    folder = tmp_path_factory.mktemp("fresh-clone") / "license-demo"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            target = folder / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (folder / ".venv").symlink_to(REPO / ".venv")
    return folder


@pytest.fixture(scope="module")
def shell_env(clone) -> dict:
    """The environment of a new terminal in the copy, after `. .venv/bin/activate`."""
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDES and not k.startswith("PYTEST")}
    env.update(PATH=f"{clone / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
               PYTHONPATH=str(clone), TERM="dumb")
    return env


def require_standard_ports() -> None:
    """Fail, naming the listener, when a default port is taken: the README's commands need them."""
    taken = listeners(STANDARD_PORTS.values())
    if taken:
        holders = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout
        pytest.fail(f"default ports {taken} are taken, so the README's commands cannot run as "
                    f"written; stop what listens there:\n{holders}")


def terminal(command: str, cwd: Path, env: dict) -> pexpect.spawn:
    """`command` in a pseudo-terminal, as a presenter types it."""
    return pexpect.spawn("bash", ["-c", command], cwd=str(cwd), env=env, encoding="utf-8",
                         timeout=120, dimensions=(50, 220))


def interrupt(child: pexpect.spawn, timeout: float = 40) -> str:
    """Ctrl-C, then wait for the command to end; its output after the Ctrl-C."""
    child.sendintr()
    child.expect(pexpect.EOF, timeout=timeout)
    child.close()
    return child.before


def listeners(ports) -> list[int]:
    """The ports among `ports` that something listens on, as `ss` sees them (not as the stack does)."""
    table = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    listening = {int(m.group(1)) for m in re.finditer(r":(\d+)\s", table)}
    return [port for port in ports if port in listening]


def printed_urls(text: str) -> dict[str, str]:
    """The `name   http://...` lines `license-demo stack` prints."""
    return {m.group(1).strip(): m.group(2) for m in
            re.finditer(r"^  (\S.*?)\s{2,}(http://\S+)\s*$", text, re.M)}


def start_stack(clone: Path, env: dict) -> tuple[pexpect.spawn, str]:
    """`make stack` until it says it is ready; the child and everything it printed."""
    child = terminal("make stack", clone, env)
    child.expect_exact("Press Ctrl-C to stop.", timeout=150)
    return child, child.before


def test_make_demo_answers_its_first_page(clone, shell_env):
    """`make demo` serves /dashboard on port 8000 and Ctrl-C leaves nothing listening."""
    require_standard_ports()
    child = terminal("make demo", clone, shell_env)
    try:
        child.expect_exact("Admin token for /config and the admin API: demo-admin-token", timeout=60)
        page = wait_for(lambda: _get(f"{SERVER}/dashboard"), timeout=60)
        assert page is not None and page.status_code == 200, "make demo did not serve /dashboard"
        assert "text/html" in page.headers["Content-Type"]
    finally:
        interrupt(child)
    assert wait_for(lambda: not listeners([STANDARD_PORTS["server"]]), timeout=15), \
        "port 8000 still taken after Ctrl-C on make demo"


def test_make_stack_then_the_guide_as_written(clone, shell_env):
    """`make stack` on the default ports and folder: preflight all ✓, Part 2's run opens the
    incident through the server's webhook, Ctrl-C leaves no process, a restart keeps the ports."""
    require_standard_ports()
    stack, printed = start_stack(clone, shell_env)
    try:
        assert "is busy" not in printed, printed
        urls = printed_urls(printed)
        assert urls["dashboard"] == f"{SERVER}/dashboard", urls
        for name, url in urls.items():
            answer = _get(url)
            assert answer is not None and answer.status_code == 200, (name, url)
        record = json.loads((clone / ".stack" / "urls.json").read_text())
        assert record["prometheus"] == "http://127.0.0.1:9090", record
        rules = requests.get("http://127.0.0.1:9090/api/v1/rules", timeout=10).json()["data"]["groups"]
        assert rules, "Prometheus loaded no rule group"

        preflight = subprocess.run(["bash", "-c", "license-demo preflight --reset"], cwd=clone,
                                   env=shell_env, capture_output=True, text=True, timeout=120)
        lines = [line for line in preflight.stdout.splitlines() if line[:1] in ("✓", "✗")]
        assert preflight.returncode == 0 and lines and all(l.startswith("✓") for l in lines), \
            preflight.stdout + preflight.stderr

        started = time.time()
        run = part_two(clone, shell_env)
        try:
            alert = wait_for(lambda: [a for a in _json(f"{SERVER}/api/alerts?status=firing")
                                      if a["labels"].get("alertname") == "HighOverageRate"
                                      and a["labels"].get("tool") == DAVINCI], timeout=90)
            assert alert, "HighOverageRate did not reach the server's webhook"
            incident = wait_for(lambda: [i for i in _json(f"{SERVER}/api/incidents?status=open")
                                         if i["tool"] == DAVINCI], timeout=20)
            assert incident and "HighOverageRate" in incident[0]["alerts"], incident
            assert time.time() - started < 120
        finally:
            interrupt(run, timeout=60)
        # The build team's seats come back; the baseline's engineers keep borrowing meanwhile.
        held = [b for b in _json(f"{SERVER}/api/borrows?tool={DAVINCI}") if b["team"] == BUILD_TEAM]
        assert not held, f"Ctrl-C left the build job's seats held: {held}"
    finally:
        pids = json.loads((clone / ".stack" / "urls.json").read_text())["pids"] \
            if (clone / ".stack" / "urls.json").exists() else {}
        output = interrupt(stack)
    assert "stopped" in output, output
    assert wait_for(lambda: not listeners(STANDARD_PORTS.values()), timeout=20), \
        f"still listening after Ctrl-C: {listeners(STANDARD_PORTS.values())}"
    assert pids and not [pid for pid in pids.values() if _alive(pid)], pids

    # Seconds later, with the connections of that traffic in TIME_WAIT: the same ports.
    stack, printed = start_stack(clone, shell_env)
    try:
        assert "is busy" not in printed, printed
        assert printed_urls(printed)["dashboard"] == f"{SERVER}/dashboard"
    finally:
        interrupt(stack)
    assert wait_for(lambda: not listeners(STANDARD_PORTS.values()), timeout=20)


def part_two(clone: Path, env: dict) -> pexpect.spawn:
    """`cd stress_test && ./run_stress_test.sh` with the guide's choices: the defaults but heavy."""
    names = [tool["name"] for tool in _json(f"{SERVER}/api/tools")]
    child = terminal("cd stress_test && ./run_stress_test.sh", clone, env)
    for heading, answer in (("Target:", ""), ("Load profile:", "3"), ("Mode:", "1"),
                            ("Tool:", str(names.index(DAVINCI) + 1)), ("Team running the job:", "")):
        child.expect_exact(heading)
        child.expect(r"Choose 1-\d+ \[\d+\]: ")
        child.sendline(answer)
    child.expect_exact(f"Target: {SERVER}")
    child.expect_exact("Start? [Y/n]: ")
    child.sendline("y")
    child.expect(r"granted \d+ \(\d+ commit / [1-9]\d* overage\)", timeout=60)
    return child


def _get(url: str) -> requests.Response | None:
    """GET `url`, None when nothing answers."""
    try:
        return requests.get(url, timeout=5)
    except requests.RequestException:
        return None


def _json(url: str):
    """The JSON answer of GET `url`."""
    answer = requests.get(url, timeout=10)
    answer.raise_for_status()
    return answer.json()


def _alive(pid: int) -> bool:
    """Whether process `pid` still exists (a zombie counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"
