"""The native stack: license server, Prometheus and Alertmanager as local processes on loopback."""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests

from license_demo import detection_config
from license_demo.processes import (ManagedProcess, free_port, spawn, start_license_server,
                                    wait_http)

# Binary names in the order they are looked for, and the Debian package providing them.
BINARIES = {
    "prometheus": (("prometheus",), "prometheus"),
    "alertmanager": (("prometheus-alertmanager", "alertmanager"), "prometheus-alertmanager"),
}
STANDARD_PORTS = {"server": 8000, "prometheus": 9090, "alertmanager": 9093}


def received_at(alert: dict) -> float:
    """Epoch seconds at which the server's webhook received `alert` (its `received_at`)."""
    return datetime.fromisoformat(alert["received_at"].replace("Z", "+00:00")).timestamp()


class StackError(RuntimeError):
    """The stack could not start; the message says what to do."""


def find_binaries() -> tuple[dict[str, str], list[str]]:
    """Return the paths of the binaries found and the Debian packages missing."""
    found, missing = {}, []
    for role, (names, package) in BINARIES.items():
        path = next((shutil.which(name) for name in names if shutil.which(name)), None)
        if path:
            found[role] = path
        else:
            missing.append(package)
    return found, missing


def install_packages(packages: list[str]) -> None:
    """Install Debian packages with apt-get (root only)."""
    if os.geteuid() != 0:
        raise StackError(f"installing needs root: run `sudo apt-get install -y "
                         f"--no-install-recommends {' '.join(packages)}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                   check=True, env=env)


def pick_port(wanted: int | None, standard: int, host: str) -> int:
    """Return `wanted`, else the standard port when free, else any free port."""
    if wanted:
        return wanted
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, standard))
            return standard
        except OSError:
            return free_port(host)


@dataclass
class StackSettings:
    """What a native stack needs: a data folder, ports (0 or None: choose), profile, token."""

    data_dir: Path
    admin_token: str
    profile: str = "demo"
    host: str = "127.0.0.1"
    server_port: int | None = None
    prometheus_port: int | None = None
    alertmanager_port: int | None = None
    standard_ports: bool = False
    server_workers: int = 2
    env: dict = field(default_factory=dict)


class Stack:
    """A running native stack; its attributes and helpers are what tests and scripts use.

    Attributes: server_url, prometheus_url, alertmanager_url (http://host:port, no
    trailing slash), admin_token, webhook_token (the server's ALERT_WEBHOOK_TOKEN, which
    Alertmanager sends), data_dir, profile. Helpers: query(), alerts_received(),
    wait_for_webhook(), admin(), reset(). Use as a context manager or call start()/stop().
    """

    def __init__(self, settings: StackSettings, progress=None):
        """Prepare a stack from `settings`; `progress` receives one line per step."""
        self.settings = settings
        self.data_dir = Path(settings.data_dir)
        self.admin_token = settings.admin_token
        # A fresh credential per start, shared by the server and Alertmanager only.
        self.webhook_token = secrets.token_urlsafe(32)
        self.profile = settings.profile
        self.processes: list[ManagedProcess] = []
        self.notes: list[str] = []
        self._progress = progress or (lambda line: None)
        self.server_url = self.prometheus_url = self.alertmanager_url = ""

    def _ports(self) -> tuple[int, int, int]:
        """Choose the three ports: given ones, standard ones when asked and free, else free."""
        s = self.settings
        ports = []
        for role, wanted in (("server", s.server_port), ("prometheus", s.prometheus_port),
                             ("alertmanager", s.alertmanager_port)):
            if wanted:
                ports.append(wanted)
            elif s.standard_ports:
                ports.append(pick_port(None, STANDARD_PORTS[role], s.host))
            else:
                ports.append(free_port(s.host))
        return tuple(ports)

    def start(self, timeout: float = 60.0) -> "Stack":
        """Start the three processes, wait until each is ready and the server is scraped."""
        binaries, missing = find_binaries()
        if missing:
            raise StackError(
                f"missing Debian packages: {' '.join(missing)}; install them with "
                f"`apt-get install -y --no-install-recommends {' '.join(missing)}` "
                f"(or run `license-demo stack --install` as root)")
        s = self.settings
        server_port, prometheus_port, alertmanager_port = self._ports()
        config_dir = self.data_dir / "config"
        addresses = detection_config.native_addresses(
            server_port, prometheus_port, alertmanager_port, config_dir / "secrets", s.host)
        env = {**os.environ, **s.env}
        prometheus_yml, alertmanager_yml, self.notes = detection_config.write_configs(
            config_dir, addresses, s.profile, env)
        detection_config.write_webhook_token(Path(addresses.secrets_dir), self.webhook_token)
        try:
            self._progress(f"starting license server on {s.host}:{server_port}")
            server = start_license_server(
                self.data_dir / "license-server", port=server_port, host=s.host,
                workers=s.server_workers, timeout=timeout,
                env={"ADMIN_TOKEN": self.admin_token, **s.env,
                     "ALERT_WEBHOOK_TOKEN": self.webhook_token})
            self.processes.append(server)
            self.server_url = server.url
            self._progress(f"starting Alertmanager on {s.host}:{alertmanager_port}")
            self.alertmanager_url = f"http://{s.host}:{alertmanager_port}"
            self._start(
                "alertmanager",
                [binaries["alertmanager"], f"--config.file={alertmanager_yml}",
                 f"--storage.path={self.data_dir / 'alertmanager'}",
                 f"--web.listen-address={s.host}:{alertmanager_port}",
                 f"--web.external-url={self.alertmanager_url}/",
                 # An empty cluster address keeps Alertmanager from binding port 9094.
                 "--cluster.listen-address="],
                self.alertmanager_url + "/-/ready", timeout)
            self._progress(f"starting Prometheus on {s.host}:{prometheus_port}")
            self.prometheus_url = f"http://{s.host}:{prometheus_port}"
            self._start(
                "prometheus",
                [binaries["prometheus"], f"--config.file={prometheus_yml}",
                 f"--storage.tsdb.path={self.data_dir / 'prometheus'}",
                 f"--web.listen-address={s.host}:{prometheus_port}",
                 f"--web.external-url={self.prometheus_url}/",
                 "--storage.tsdb.retention.time=35d", "--web.enable-lifecycle"],
                self.prometheus_url + "/-/ready", timeout)
            self._progress("waiting for Prometheus to scrape the license server")
            self.wait_for_scrape(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, name: str, argv: list[str], ready_url: str, timeout: float) -> None:
        """Spawn one service, logging to data_dir/<name>.log, and wait for its ready URL."""
        managed = spawn(name, argv, self.data_dir / f"{name}.log")
        managed.url = ready_url.rsplit("/-/", 1)[0]
        self.processes.append(managed)
        try:
            wait_http(ready_url, timeout=timeout, proc=managed.proc)
        except (RuntimeError, TimeoutError) as exc:
            raise StackError(f"{name} did not start: {exc}\n--- {managed.log_path} ---\n"
                             f"{managed.log_tail()}") from exc

    def wait_for_scrape(self, timeout: float = 60.0) -> None:
        """Wait until Prometheus reports the license-server target up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.query('up{job="license-server"} == 1'):
                return
            time.sleep(0.5)
        raise StackError(f"Prometheus did not scrape {self.server_url}/metrics within "
                         f"{timeout:.0f}s; see {self.data_dir / 'prometheus.log'}")

    def stop(self) -> None:
        """Stop every process this stack started, the last started first."""
        for managed in reversed(self.processes):
            managed.stop()
        self.processes.clear()

    def dead(self) -> list[ManagedProcess]:
        """Return the processes that have exited."""
        return [p for p in self.processes if p.proc.poll() is not None]

    def __enter__(self) -> "Stack":
        """Start the stack."""
        return self.start()

    def __exit__(self, *exc) -> None:
        """Stop the stack."""
        self.stop()

    def urls(self) -> dict[str, str]:
        """Return the URLs worth opening, by name."""
        return {
            "dashboard": f"{self.server_url}/dashboard",
            "license server API": f"{self.server_url}/api/tools",
            "metrics": f"{self.server_url}/metrics",
            "Prometheus": self.prometheus_url,
            "Prometheus alerts": self._prometheus_page("alerts"),
            "Alertmanager": self.alertmanager_url,
            "alerts received by the server": f"{self.server_url}/api/alerts?status=firing",
        }

    def _prometheus_page(self, page: str) -> str:
        """URL of a Prometheus UI page: Debian's build serves only the classic UI."""
        for path in (f"/{page}", f"/classic/{page}"):
            try:
                if requests.get(self.prometheus_url + path, timeout=5).status_code == 200:
                    return self.prometheus_url + path
            except requests.RequestException:
                break
        return f"{self.prometheus_url}/api/v1/{page}"

    # Helpers for tests and scripts.

    def query(self, expr: str) -> list[dict]:
        """Run an instant PromQL query and return the result vector."""
        response = requests.get(f"{self.prometheus_url}/api/v1/query",
                                params={"query": expr}, timeout=10)
        response.raise_for_status()
        return response.json()["data"]["result"]

    def alerts_received(self, status: str | None = None) -> list[dict]:
        """Return the alerts the server's webhook has received (`status`: firing/resolved)."""
        params = {"status": status} if status else {}
        response = requests.get(f"{self.server_url}/api/alerts", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_for_webhook(self, alertname: str, status: str = "firing", timeout: float = 90.0,
                         labels: dict | None = None, since: float | None = None,
                         poll: float = 0.25) -> dict:
        """Wait until the server's webhook holds `alertname` in `status`; return that alert.

        `labels` must all match; `since` (epoch seconds) ignores deliveries received earlier.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for alert in self.alerts_received(status):
                alert_labels = alert.get("labels", {})
                if (alert_labels.get("alertname") == alertname
                        and alert.get("status", status) == status
                        and all(alert_labels.get(k) == v for k, v in (labels or {}).items())
                        and (since is None or received_at(alert) >= since)):
                    return alert
            time.sleep(poll)
        raise TimeoutError(f"{alertname} did not reach the webhook as {status} within "
                           f"{timeout:.0f}s; see {self.prometheus_url}/api/v1/alerts and "
                           f"{self.alertmanager_url}/api/v2/alerts")

    def admin(self, method: str, path: str, json: dict | None = None) -> requests.Response:
        """Call an admin endpoint of the server with the stack's token; raise on errors."""
        response = requests.request(method, f"{self.server_url}{path}", json=json, timeout=10,
                                    headers={"Authorization": f"Bearer {self.admin_token}"})
        response.raise_for_status()
        return response

    def reset(self) -> None:
        """Return the server to its fresh demo state (POST /api/reset)."""
        self.admin("POST", "/api/reset")


def _print(line: str) -> None:
    """Print a progress line immediately."""
    print(line, flush=True)


def _interrupt(signum, frame) -> None:
    """Turn SIGTERM into the same clean stop as Ctrl-C."""
    raise KeyboardInterrupt


def run(args) -> int:
    """Run the native stack until Ctrl-C (the `license-demo stack` subcommand)."""
    _, missing = find_binaries()
    if missing:
        if not args.install:
            _print(f"Missing Debian packages: {' '.join(missing)}.\n"
                   f"Install them with: apt-get install -y --no-install-recommends "
                   f"{' '.join(missing)}\n(or run this command as root with --install)")
            return 2
        _print(f"installing {' '.join(missing)} with apt-get")
        install_packages(missing)
    data_dir = Path(args.data_dir)
    if args.fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    token = args.admin_token or os.environ.get("ADMIN_TOKEN")
    if not token:
        token = secrets.token_urlsafe(16)
    settings = StackSettings(
        data_dir=data_dir, admin_token=token, profile=args.profile, host=args.host,
        server_port=args.server_port, prometheus_port=args.prometheus_port,
        alertmanager_port=args.alertmanager_port, standard_ports=True)
    stack = Stack(settings, progress=_print)
    # SIGTERM stops the stack the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
    except StackError as exc:
        _print(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        _print("interrupted; stopped")
        return 130
    _print(f"\nNative stack running ({args.profile} profile), data in {data_dir}/")
    for name, url in stack.urls().items():
        _print(f"  {name:<30} {url}")
    _print(f"  {'admin token':<30} {token}")
    for note in stack.notes:
        _print(f"  alert delivery: {note}")
    _print("Logs: " + ", ".join(str(p.log_path) for p in stack.processes))
    _print("Press Ctrl-C to stop.")
    try:
        while True:
            time.sleep(1)
            dead = stack.dead()
            if dead:
                for managed in dead:
                    _print(f"error: {managed.name} exited with code {managed.proc.returncode}; "
                           f"last lines of {managed.log_path}:\n{managed.log_tail()}")
                return 1
    except KeyboardInterrupt:
        _print("\nstopping...")
        return 0
    finally:
        stack.stop()
        _print("stopped")


def register(subparsers) -> None:
    """Add the `stack` subcommand to the license-demo CLI."""
    parser = subparsers.add_parser(
        "stack", help="run the license server, Prometheus and Alertmanager locally",
        description="Start the license server, Prometheus and Alertmanager as local processes "
                    "on loopback (demo profile by default), print their URLs and stop them "
                    "all on Ctrl-C. Standard ports (8000, 9090, 9093) are used when free.")
    parser.add_argument("--data-dir", default=".stack", help="folder for databases, TSDB and "
                        "logs (default .stack)")
    parser.add_argument("--fresh", action="store_true", help="delete the data folder first")
    parser.add_argument("--profile", choices=sorted(detection_config.PROFILES), default="demo",
                        help="alert timings: demo fires within a minute, production uses 5m")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--server-port", type=int, help="license server port (default 8000)")
    parser.add_argument("--prometheus-port", type=int, help="Prometheus port (default 9090)")
    parser.add_argument("--alertmanager-port", type=int, help="Alertmanager port (default 9093)")
    parser.add_argument("--admin-token", help="admin token (default $ADMIN_TOKEN, else random)")
    parser.add_argument("--install", action="store_true",
                        help="install missing Debian packages with apt-get (needs root)")
    parser.set_defaults(func=run)
