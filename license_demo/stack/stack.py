"""The native stack: license server, Prometheus and Alertmanager as local processes on loopback."""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from license_demo import stack_urls, ui_links
from license_demo.clients import PrometheusClient, ServerClient
from license_demo import deploy_configs
from license_demo.stack import loaded_check
from license_demo.stack.processes import (ManagedProcess, free_port, spawn, start_license_server,
                                          wait_http)

# Binary names in the order they are looked for, and the Debian package providing them.
BINARIES = {
    "prometheus": (("prometheus",), "prometheus"),
    "alertmanager": (("prometheus-alertmanager", "alertmanager"), "prometheus-alertmanager"),
}
STANDARD_PORTS = {"server": 8000, "prometheus": 9090, "alertmanager": 9093}
# The file in the data folder naming the URLs a running stack really uses; the other
# commands (`license-demo journey`, `investigate`, `reset`, `run_stress_test.sh --target
# local`) read it, so a stack moved off a busy standard port is still found.
URLS_FILE = stack_urls.URLS_FILE
# Seconds a dead license server stays down before the stack restarts it: long enough for
# LicenseServerDown to fire (scrape + evaluation + for + group_wait of the demo profile).
SERVER_RESTART_DELAY = 15.0


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


def port_is_free(port: int, host: str) -> bool:
    """True when nothing listens on `host`:`port` right now.

    Binds as the servers themselves do (SO_REUSEADDR), so the connections a stopped stack
    leaves in TIME_WAIT do not count: only a listener makes a port taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


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
        # Absolute from here on: Prometheus and Alertmanager resolve a relative path in their
        # configuration against the configuration file's folder, not the working directory.
        self.data_dir = Path(settings.data_dir).expanduser().resolve()
        self.admin_token = settings.admin_token
        # A fresh credential per start, shared by the server and Alertmanager only.
        self.webhook_token = secrets.token_urlsafe(32)
        self.profile = settings.profile
        self.processes: list[ManagedProcess] = []
        self.notes: list[str] = []
        self._progress = progress or (lambda line: None)
        self.server_url = self.prometheus_url = self.alertmanager_url = ""
        self.moved: list[str] = []
        # Found at start: the path prefix of Prometheus's UI pages ("" or "/classic") and
        # whether Alertmanager serves its web UI (Debian's package does not).
        self.prometheus_ui = ""
        self.alertmanager_ui = False
        self._server_args: dict = {}
        # Whether the baseline load runs against this stack (the preflight tells its seats apart).
        self.baseline = False

    def _ports(self) -> tuple[int, int, int]:
        """Choose the three ports: given ones (busy: StackError), standard ones when free, else free."""
        s = self.settings
        ports = []
        for role, wanted in (("server", s.server_port), ("prometheus", s.prometheus_port),
                             ("alertmanager", s.alertmanager_port)):
            flag = "--server-port" if role == "server" else f"--{role}-port"
            if wanted:
                if not port_is_free(wanted, s.host):
                    raise StackError(
                        f"port {wanted} ({role}) is already in use on {s.host}: stop what "
                        f"listens there (`ss -ltnp 'sport = :{wanted}'` shows it), or choose "
                        f"another port with {flag} N, or leave {flag} out to take a free one")
                ports.append(wanted)
            elif s.standard_ports:
                standard = STANDARD_PORTS[role]
                port = standard if port_is_free(standard, s.host) else free_port(s.host)
                if port != standard:
                    self.moved.append(
                        f"{role}: port {STANDARD_PORTS[role]} is busy, using {port} (the other "
                        f"commands find it in {self.data_dir / URLS_FILE}; free the port or "
                        f"pass {flag} {STANDARD_PORTS[role]} to insist)")
                ports.append(port)
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
        addresses = deploy_configs.native_addresses(
            server_port, prometheus_port, alertmanager_port, config_dir / "secrets", s.host)
        env = {**os.environ, **s.env}
        # The native stack runs no Grafana: its rule copy links to the server's own pages.
        rules_dir = config_dir / "rules"
        deploy_configs.write_native_rules(rules_dir, s.profile, f"http://{s.host}:{server_port}")
        addresses = deploy_configs.Addresses(**{**addresses.__dict__, "rules_dir": str(rules_dir)})
        prometheus_yml, alertmanager_yml, self.notes = deploy_configs.write_configs(
            config_dir, addresses, s.profile, env)
        deploy_configs.write_webhook_token(Path(addresses.secrets_dir), self.webhook_token)
        # The other commands on this machine (preflight, reset, investigate --apply) read it here.
        deploy_configs.write_secret(self.data_dir / stack_urls.ADMIN_TOKEN_FILE, self.admin_token)
        try:
            self._progress(f"starting license server on {s.host}:{server_port}")
            self._server_args = dict(
                data_dir=self.data_dir / "license-server", port=server_port, host=s.host,
                workers=s.server_workers,
                env={"ADMIN_TOKEN": self.admin_token, **s.env,
                     "ALERT_WEBHOOK_TOKEN": self.webhook_token})
            server = start_license_server(timeout=timeout, **self._server_args)
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
            self.check_loaded(rules_dir / deploy_configs.PROFILES[s.profile]["rules"],
                              alertmanager_yml)
            self.prometheus_ui = ui_links.prometheus_ui_prefix(self.prometheus_url)
            self.alertmanager_ui = ui_links.alertmanager_has_ui(self.alertmanager_url)
            self.write_urls()
        except BaseException:
            self.stop()
            raise
        return self

    def write_urls(self) -> Path:
        """Record the URLs and process ids in use in <data_dir>/urls.json; return its path."""
        path = self.data_dir / URLS_FILE
        path.write_text(json.dumps({
            "server": self.server_url, "prometheus": self.prometheus_url,
            "alertmanager": self.alertmanager_url, "profile": self.profile,
            "baseline": self.baseline,
            "pids": {p.name: p.proc.pid for p in self.processes}}, indent=2) + "\n")
        return path

    def restart_server(self, timeout: float = 60.0) -> ManagedProcess:
        """Start the license server again on its port and data; Prometheus keeps scraping it."""
        old = next(p for p in self.processes if p.name == "license-server")
        old.stop()
        server = start_license_server(timeout=timeout, **self._server_args)
        self.processes[self.processes.index(old)] = server
        self.write_urls()
        return server

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

    def check_loaded(self, rule_file: Path, alertmanager_yml: Path) -> None:
        """StackError unless Prometheus loaded every rule group and Alertmanager can read its files."""
        missing = loaded_check.missing_rule_groups(self.prometheus_url, rule_file)
        if missing:
            raise StackError(
                f"Prometheus did not load the rule groups {', '.join(missing)} of {rule_file}, so "
                f"no alert can fire; see {self.data_dir / 'prometheus.log'} and check that the "
                f"rule_files entry of {self.data_dir / 'config' / 'prometheus.yml'} names that "
                f"file by its absolute path")
        unreadable = loaded_check.unreadable_files(self.alertmanager_url, alertmanager_yml)
        if unreadable:
            raise StackError(
                f"Alertmanager cannot read {'; '.join(unreadable)}, so no notification reaches "
                f"the server; every file in {alertmanager_yml} must be named by its absolute path "
                f"(restart with `license-demo stack --fresh`)")

    def stop(self) -> None:
        """Stop every process this stack started, the last started first; forget its URLs."""
        for managed in reversed(self.processes):
            managed.stop()
        self.processes.clear()
        (self.data_dir / URLS_FILE).unlink(missing_ok=True)

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
        """Return the URLs worth opening, by name; each answers on this stack."""
        urls = {
            "dashboard": f"{self.server_url}/dashboard",
            "config (admin token)": f"{self.server_url}/config",
            "incidents": f"{self.server_url}/incidents",
            "license server API": f"{self.server_url}/api/tools",
            "metrics": f"{self.server_url}/metrics",
            "Prometheus graphs": self.prometheus_page("graph"),
            "Prometheus alerts": self.prometheus_page("alerts"),
        }
        # Debian's Alertmanager has no web UI: its API, and the banner, show the alerts.
        name, url = ui_links.alertmanager_alerts_page(self.alertmanager_url, self.alertmanager_ui)
        urls[name] = url
        urls["alerts received by the server"] = f"{self.server_url}/api/alerts?status=firing"
        return urls

    def prometheus_page(self, page: str) -> str:
        """URL of a Prometheus UI page (graph, alerts, targets) in the UI this version serves."""
        return f"{self.prometheus_url}{self.prometheus_ui}/{page}"

    def graph_url(self, expr: str, minutes: int = 15) -> str:
        """A Prometheus graph of `expr` over the last `minutes`, in the UI this version serves."""
        from urllib.parse import urlencode
        return self.prometheus_page("graph") + "?" + urlencode(
            {"g0.expr": expr, "g0.tab": "0", "g0.range_input": f"{minutes}m"})

    # Helpers for tests and scripts.

    def query(self, expr: str) -> list[dict]:
        """Run an instant PromQL query and return the result vector."""
        return PrometheusClient(self.prometheus_url).query(expr)

    def alerts_received(self, status: str | None = None) -> list[dict]:
        """Return the alerts the server's webhook has received (`status`: firing/resolved)."""
        return self.client().alerts(status)

    def wait_for_webhook(self, alertname: str, status: str = "firing", timeout: float = 90.0,
                         labels: dict | None = None, since: float | None = None,
                         poll: float = 0.25) -> dict:
        """Wait until the server's webhook holds `alertname` in `status`; return that alert.

        `labels` must all match; `since` (epoch seconds) ignores deliveries received earlier.
        """
        return self.client().wait_for_webhook(
            alertname, status, timeout, labels, since, poll,
            see=f"{self.prometheus_url}/api/v1/alerts and {self.alertmanager_url}/api/v2/alerts")

    def admin(self, method: str, path: str, json: dict | None = None) -> requests.Response:
        """Call an admin endpoint of the server with the stack's token; raise on errors."""
        return self.client().call(method, path, json=json, admin=True)

    def client(self) -> ServerClient:
        """The license server's API client, with the stack's admin token."""
        return ServerClient(self.server_url, self.admin_token)

    def reset(self) -> None:
        """Return the server to its fresh demo state (POST /api/reset)."""
        self.admin("POST", "/api/reset")


def _print(line: str) -> None:
    """Print a progress line immediately."""
    print(line, flush=True)


def _interrupt(signum, frame) -> None:
    """Turn SIGTERM into the same clean stop as Ctrl-C."""
    raise KeyboardInterrupt


def supervise(stack: Stack, restart_delay: float) -> int:
    """Watch the processes until Ctrl-C; bring a dead license server back after `restart_delay`.

    Prometheus and Alertmanager keep running while the server is down, so LicenseServerDown
    fires as it would in production. Returns the exit code when another process dies.
    """
    down_since = None
    while True:
        time.sleep(1)
        dead = stack.dead()
        server_dead = [p for p in dead if p.name == "license-server"]
        others = [p for p in dead if p.name != "license-server"]
        for managed in others:
            _print(f"error: {managed.name} exited with code {managed.proc.returncode}; last "
                   f"lines of {managed.log_path}:\n{managed.log_tail()}\nRestart the stack "
                   f"(Ctrl-C, then `license-demo stack`).")
            return 1
        if server_dead and down_since is None:
            managed = server_dead[0]
            down_since = time.monotonic()
            how = (f"restarting it in {restart_delay:.0f}s" if restart_delay > 0 else
                   "restart the stack to bring it back (Ctrl-C, then `license-demo stack`)")
            _print(f"license server exited with code {managed.proc.returncode} (log: "
                   f"{managed.log_path}); Prometheus and Alertmanager keep running and "
                   f"LicenseServerDown fires; {how}")
        if (down_since is not None and restart_delay > 0
                and time.monotonic() - down_since >= restart_delay):
            try:
                server = stack.restart_server()
            except RuntimeError as exc:
                _print(f"error: the license server did not come back: {exc}\nRestart the "
                       f"stack (Ctrl-C, then `license-demo stack`).")
                down_since = time.monotonic()
                continue
            _print(f"license server restarted on {server.url} (pid {server.proc.pid})")
            down_since = None


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
    data_dir = Path(args.data_dir).expanduser().resolve()
    if args.fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    token = args.admin_token or os.environ.get("ADMIN_TOKEN")
    if not token:
        # Hex: a token that starts with '-' would read as an option on the other commands' lines.
        token = secrets.token_hex(16)
    settings = StackSettings(
        data_dir=data_dir, admin_token=token, profile=args.profile, host=args.host,
        server_port=args.server_port, prometheus_port=args.prometheus_port,
        alertmanager_port=args.alertmanager_port, standard_ports=True,
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": args.otlp} if args.otlp else {})
    stack = Stack(settings, progress=_print)
    # SIGTERM, and the terminal closing (SIGHUP), stop the stack the same way Ctrl-C does; Ctrl-C
    # itself even when the shell that started us ignores it (a script's background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        stack.start()
    except StackError as exc:
        _print(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        _print("interrupted; stopped")
        return 130
    baseline = None
    try:
        _print(f"\nNative stack running ({args.profile} profile), data in {data_dir}/")
        for note in stack.moved:
            _print(f"  note: {note}")
        for name, url in stack.urls().items():
            _print(f"  {name:<30} {url}")
        _print(f"  {'admin token':<30} {token}")
        if not stack.alertmanager_ui:
            _print("  Alertmanager here has no web UI: alerts show on the dashboard banner, "
                   "in Prometheus alerts, and with: amtool alert query "
                   f"--alertmanager.url={stack.alertmanager_url}")
        _print("  Grafana is not part of this stack: alert links open the server's "
               "/dashboard (`make up` adds Grafana and Loki)")
        for note in stack.notes:
            _print(f"  alert delivery: {note}")
        if args.baseline:
            from license_demo.stack.baseline import BaselineLoad
            baseline = BaselineLoad(stack.server_url).start()
            stack.baseline = True
            stack.write_urls()
            _print(f"Baseline: {baseline.engineers} engineers borrowing and returning on every "
                   "tool, within commit (--no-baseline for an idle server)")
        _print(f"URLs recorded in {data_dir / URLS_FILE}")
        _print("Logs: " + ", ".join(str(p.log_path) for p in stack.processes))
        _print("Press Ctrl-C to stop.")
        return supervise(stack, args.server_restart)
    except KeyboardInterrupt:
        _print("\nstopping...")
        return 0
    finally:
        if baseline is not None:
            baseline.stop()
        stack.stop()
        _print("stopped")


def otlp_url(value: str) -> str:
    """An http(s) URL for --otlp, else an error saying what to give."""
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{value!r} is no OTLP/HTTP endpoint: give its URL, "
                                         "e.g. http://localhost:4318")
    return value.rstrip("/")


def register(subparsers) -> None:
    """Add the `stack` subcommand to the license-demo CLI."""
    parser = subparsers.add_parser(
        "stack", help="run the license server, Prometheus and Alertmanager locally",
        description="Start the license server, Prometheus and Alertmanager as local processes "
                    "on loopback (demo profile by default), print their URLs and stop them "
                    "all on Ctrl-C. Standard ports (8000, 9090, 9093) are used when free, "
                    "else free ones; the URLs in use are written to <data-dir>/urls.json, "
                    "where the other commands find them. A license server that dies is "
                    "restarted (Prometheus and Alertmanager keep running meanwhile).")
    parser.add_argument("--data-dir", default=".stack", help="folder for databases, TSDB and "
                        "logs (default .stack)")
    parser.add_argument("--fresh", action="store_true", help="delete the data folder first")
    parser.add_argument("--profile", choices=sorted(deploy_configs.PROFILES), default="demo",
                        help="alert timings: demo fires within a minute, production uses 5m")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--server-port", type=int, help="license server port (default 8000)")
    parser.add_argument("--prometheus-port", type=int, help="Prometheus port (default 9090)")
    parser.add_argument("--alertmanager-port", type=int, help="Alertmanager port (default 9093)")
    parser.add_argument("--admin-token", help="admin token (default $ADMIN_TOKEN, else random)")
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                        help="run a light background of engineers on every tool, within "
                             "commit, so Part 1 shows normal use (default on)")
    parser.add_argument("--server-restart", type=float, default=SERVER_RESTART_DELAY,
                        metavar="S", help="seconds before a dead license server is started "
                        f"again (default {SERVER_RESTART_DELAY:.0f}; 0: do not restart)")
    parser.add_argument("--otlp", metavar="URL", type=otlp_url,
                        help="send the server's traces to this OTLP/HTTP endpoint, e.g. "
                             "http://localhost:4318 (an OpenTelemetry collector, Alloy or Tempo; "
                             "default: no traces, nothing needed)")
    parser.add_argument("--install", action="store_true",
                        help="install missing Debian packages with apt-get (needs root)")
    parser.set_defaults(func=run)
