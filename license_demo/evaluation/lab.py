"""The lab: a native stack the evaluation owns, and the setup steps a case file names.

Every step is real: borrows through the public API, the stress test as a subprocess
(`journeys.load`), fault switches and deployments through the admin API, the license server
process stopped or moved. `finish` undoes what outlives a case (background load, a stopped or
moved server) so the next case starts from the same stack.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import requests

from license_demo import stack_urls
from license_demo.alert_wait import unflushed_selector
from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.journeys import load
from license_demo.stack.baseline import BaselineLoad
from license_demo.stack.processes import free_port, start_license_server


# Steps that need the stack's processes in hand: only a stack the evaluation started itself.
PROCESS_STEPS = ("stop_server", "move_server")


class LabError(RuntimeError):
    """A setup step could not make its situation; the message says which and why."""


@dataclass
class RunningStack:
    """A stack someone else runs (`license-demo stack`, found by its urls.json): its URLs and admin
    token, but not its processes."""

    server_url: str
    prometheus_url: str
    alertmanager_url: str
    admin_token: str

    @classmethod
    def recorded(cls, data_dir: str, admin_token: str | None) -> "RunningStack":
        """The stack recorded in `data_dir`/urls.json; LabError says what is missing."""
        urls = {key: stack_urls.recorded(key, data_dir) for key in ("server", "prometheus", "alertmanager")}
        missing = [k for k, v in urls.items() if not v]
        if missing:
            raise LabError(f"no {', '.join(missing)} URL in {data_dir}/urls.json: start the stack with "
                           f"`license-demo stack --data-dir {data_dir}` first")
        if not admin_token:
            raise LabError("the stack's admin token is needed: set ADMIN_TOKEN or pass --admin-token "
                           "(license-demo stack prints it)")
        return cls(urls["server"], urls["prometheus"], urls["alertmanager"], admin_token)


class Lab:
    """One native stack (a `license_demo.stack.stack.Stack` the caller started, or a `RunningStack`)
    and the case in progress."""

    def __init__(self, stack, progress: Callable[[str], None] = lambda line: None):
        """Drive `stack`; `progress` gets one line per step."""
        self.stack, self.progress = stack, progress
        self.server_url = stack.server_url
        self._background: list = []
        self._moved = None
        self._stopped = False
        # Whether the lab holds the processes (a Stack it started) or only the URLs (RunningStack).
        self.controls_processes = not isinstance(stack, RunningStack)

    def cannot_run(self, steps: list[dict]) -> str | None:
        """Why these steps cannot run on this lab (None when they can)."""
        needs = [k for step in steps for k in step if k in PROCESS_STEPS]
        if needs and not self.controls_processes:
            return f"skipped: {needs[0]} needs a stack the evaluation starts itself (no --stack-dir)"
        return None

    # --- what the investigators are pointed at ----------------------------------------------------

    @property
    def prometheus_url(self) -> str:
        """Prometheus of the stack."""
        return self.stack.prometheus_url

    @property
    def alertmanager_url(self) -> str:
        """Alertmanager of the stack."""
        return self.stack.alertmanager_url

    @property
    def admin_token(self) -> str:
        """The server's admin token."""
        return self.stack.admin_token

    def server(self) -> ServerClient:
        """The server the case's question is about (the moved one after move_server)."""
        return ServerClient(self.server_url, self.admin_token)

    def value(self, expr: str) -> float | None:
        """One value of an instant query, or None."""
        rows = PrometheusClient(self.prometheus_url).query(expr)
        return float(rows[0]["value"][1]) if rows else None

    # --- running steps ----------------------------------------------------------------------------

    def run(self, steps: list[dict]) -> None:
        """Run the steps in order."""
        for step in steps:
            (kind, args), = step.items()
            self.progress(f"    {kind} {args if args else ''}".rstrip())
            try:
                STEPS[kind](self, **args)
            except TypeError as exc:
                raise LabError(f"step {kind}: {exc}") from exc

    def finish(self) -> None:
        """Stop background load; bring a stopped or moved server back on its own port."""
        stop_load(self)
        if self._moved is not None:
            self._moved.stop()
            self._moved = None
            self._stopped = True
        if self._stopped:
            self.stack.restart_server()
            self._stopped = False
            self.stack.wait_for_scrape(60)
        self.server_url = self.stack.server_url

    def poll(self, what: str, check: Callable[[], bool], timeout: float, every: float = 0.5) -> None:
        """Wait until `check()` holds; LabError naming `what` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except (DemoError, requests.RequestException):
                pass
            time.sleep(every)
        raise LabError(f"{what} did not happen within {timeout:.0f}s")


# --- the steps: each takes the lab and the case file's arguments ------------------------------------

def reset(lab: Lab) -> None:
    """Fresh demo state: seats, configuration, faults, deployments (POST /api/reset)."""
    lab.server().reset()


def wait_quiet(lab: Lab, timeout: float = 150) -> None:
    """Wait until Prometheus holds no pending or firing alert (earlier cases' alerts resolved) and
    Alertmanager has had the time to send their resolved notifications (so this case's alerts
    are notified afresh: `alert_wait.unflushed_selector`)."""
    prometheus = PrometheusClient(lab.prometheus_url)
    unflushed = unflushed_selector(AlertmanagerClient(lab.alertmanager_url), prometheus)
    lab.poll("all alerts resolving and their resolved notifications sent",
             lambda: not prometheus.alerts() and not (unflushed and unflushed('alertname!=""')), timeout)


def _borrow(lab: Lab, tool: str, user: str, team: str | None) -> requests.Response:
    """One borrow as an engineer's client sends it."""
    return lab.server().call("POST", "/api/borrow", json={"tool": tool, "user": user, **({"team": team} if team else {})},
                             expect_error=True)


def borrow(lab: Lab, tool: str, users: list[str], team: str | None = None, count: int = 1,
           min_granted: int | None = None) -> None:
    """`count` seats of `tool`, taken in turn by `users`, kept until the case ends; at least `min_granted`
    (default all) must be granted: a baseline load may hold some of the tool's seats."""
    codes = [_borrow(lab, tool, users[i % len(users)], team).status_code for i in range(count)]
    needed = count if min_granted is None else min_granted
    if codes.count(201) < needed:
        raise LabError(f"borrow: {codes.count(201)} of {count} seats of {tool} granted, {needed} needed ({codes})")


def hoard(lab: Lab, user: str, team: str | None = None) -> None:
    """A runaway script: `user` takes every free seat of every tool."""
    for tool in [t["name"] for t in lab.server().tools()]:
        while _borrow(lab, tool, user, team).status_code == 201:
            pass


def cycles(lab: Lab, tool: str, user: str, team: str | None = None, count: int = 20) -> None:
    """Borrow and return `count` times (under a fault, some borrows fail)."""
    for _ in range(count):
        response = _borrow(lab, tool, user, team)
        if response.status_code == 201:
            lab.server().call("POST", "/api/return", json={"id": response.json()["id"]}, expect_error=True)


def stress_test(lab: Lab, tool: str, profile: str = "heavy", mode: str = "full-cycle", team: str | None = None,
                ops: int | None = None, seed: int = 7, background: bool = False) -> None:
    """The stress test (`python -m stress_test`) against the server: to its end, or in the background."""
    run = load.start_stress_test(lab.server_url, tool, seed, profile, mode, out=lambda line: None, ops=ops, team=team)
    if background:
        lab._background.append(run)
        return
    load.finish_stress_test(run, timeout=300)


def stop_load(lab: Lab) -> None:
    """End the background load (a stress test returns its seats on the way out)."""
    for job in lab._background:
        job.stop()
    lab._background.clear()


def baseline(lab: Lab, seed: int = 11) -> None:
    """The light background of normal operations (`stack.baseline`), until the case ends."""
    lab._background.append(BaselineLoad(lab.server_url, seed=seed).start())


def deploy(lab: Lab, version: str, commit: str, faults: dict | None = None) -> None:
    """Record a deployment (switching faults on with it)."""
    lab.server().deploy(version, commit, faults)


def rollback(lab: Lab) -> None:
    """Go back to the previous deployment."""
    lab.server().rollback()


def fault(lab: Lab, name: str, variant: str) -> None:
    """Switch a fault."""
    lab.server().set_fault(name, variant)


def configure(lab: Lab, tool: str, **settings) -> None:
    """Change a tool's commit, max_overage or prices."""
    lab.server().configure_tool(tool, **settings)


def release(lab: Lab, tool: str | None = None) -> None:
    """Force-return every held seat (of `tool`): the job holding them ended."""
    load.release_holders(lab.server(), tool)


def stop_server(lab: Lab) -> None:
    """Stop the license server process; Prometheus and Alertmanager keep running."""
    next(p for p in lab.stack.processes if p.name == "license-server").stop()
    lab._stopped = True


def move_server(lab: Lab) -> None:
    """Restart the server on another port: it answers, but Prometheus still scrapes the old one."""
    stop_server(lab)
    s = lab.stack.settings
    lab._moved = start_license_server(
        lab.stack.data_dir / "license-server", port=free_port(s.host), host=s.host, workers=s.server_workers,
        env={"ADMIN_TOKEN": lab.admin_token, **s.env, "ALERT_WEBHOOK_TOKEN": lab.stack.webhook_token})
    lab.server_url = lab._moved.url


def wait_alert(lab: Lab, alert: str, state: str = "firing", labels: dict | None = None, timeout: float = 120) -> None:
    """Wait until Prometheus holds `alert` (with `labels`) firing, or none of it (`state: inactive`)."""
    match = "".join(f',{k}="{v}"' for k, v in (labels or {}).items())
    expr = f'ALERTS{{alertname="{alert}",alertstate="firing"{match}}}'
    want = state == "firing"
    lab.poll(f"{alert} {state}", lambda: bool(PrometheusClient(lab.prometheus_url).query(expr)) == want, timeout)


def wait_metric(lab: Lab, expr: str, min: float | None = None, max: float | None = None,
                timeout: float = 60) -> None:
    """Wait until `expr` has a value within [min, max]."""
    def ok() -> bool:
        v = lab.value(expr)
        return v is not None and (min is None or v >= min) and (max is None or v <= max)
    lab.poll(f"{expr} within [{min}, {max}]", ok, timeout)


def sleep(lab: Lab, seconds: float) -> None:
    """Let time pass (a scrape, an evaluation, the baseline's first rounds)."""
    time.sleep(seconds)


def wait_scrape(lab: Lab, timeout: float = 20) -> None:
    """Wait until Prometheus has scraped the server after this moment."""
    now = time.time()
    lab.poll("a scrape of the server", lambda: (lab.value('max(timestamp(up{job="license-server"}))') or 0) >= now + 0.1,
             timeout)


def apply_fix(lab: Lab, action: str, parameters: dict, tool: str | None = None) -> str:
    """Carry out a proposed action with the parameters an answer gave; what was done, in words."""
    if action == "raise-commit":
        changes = {k: parameters[k] for k in ("commit", "max_overage") if k in parameters}
        if not tool or "commit" not in changes:
            raise LabError(f"raise-commit needs the case's tool and a commit; got {parameters}")
        lab.server().configure_tool(tool, **changes)
        return f"{tool}: " + ", ".join(f"{k} {v}" for k, v in changes.items())
    if action == "force-return":
        lab.server().force_return(parameters["user"])
        return f"force-returned the seats of {parameters['user']}"
    if action == "rollback":
        lab.server().rollback()
        return "rolled back"
    raise LabError(f"the lab cannot apply {action!r}; fix.action takes raise-commit, force-return or rollback")


def fired_since(lab: Lab, alert: str, labels: dict, since: float) -> bool:
    """Whether `alert` (with `labels`) was firing at any evaluation since `since`."""
    match = "".join(f',{k}="{v}"' for k, v in (labels or {}).items())
    seconds = max(1, int(time.time() - since))
    return lab.value(f'max_over_time(ALERTS{{alertname="{alert}",alertstate="firing"{match}}}[{seconds}s])') is not None


STEPS: dict[str, Callable] = {f.__name__: f for f in (
    reset, wait_quiet, borrow, hoard, cycles, stress_test, stop_load, baseline, deploy, rollback, fault, configure, release,
    stop_server, move_server, wait_alert, wait_metric, sleep, wait_scrape)}
