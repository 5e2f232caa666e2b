"""docker-compose.yml, Dockerfile, fly.toml, Loki and Alloy configs: valid, consistent, complete.

No Docker engine runs here, so the compose file is checked against the Compose
Specification's JSON schema (tests/grafana/compose-spec.json, from the compose-spec/compose-spec
repository, schema/compose-spec.json at commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6) and
against the configuration files the native stack runs with.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.parse
from pathlib import Path

import jsonschema
import pytest
import requests
import yaml

from alloy_syntax import AlloySyntaxError, Block, Ref, parse
from license_demo import detection_config
from license_server.loki_push import KNOWN_EVENTS, KNOWN_LEVELS

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
SERVER_PORT = 8000
MEMORY_UNITS = {"k": 1 / 1024, "m": 1, "g": 1024}


@pytest.fixture(scope="module")
def compose() -> dict:
    """The parsed docker-compose.yml."""
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def alloy() -> Block:
    """The parsed loki/config.alloy."""
    return parse((REPO / "loki/config.alloy").read_text())


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


def test_compose_file_matches_the_compose_specification(compose):
    """The file validates against the Compose Specification JSON schema."""
    jsonschema.Draft7Validator(SCHEMA).validate(compose)


def test_schema_rejects_a_broken_file(compose):
    """The schema check does catch mistakes (a misspelled depends_on condition)."""
    broken = copy.deepcopy(compose)
    broken["services"]["grafana"]["depends_on"]["loki"]["condition"] = "healthy"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(broken)


def test_services_present(compose):
    """Server, Prometheus, Alertmanager, Loki, Alloy, Grafana; Locust under a profile."""
    services = compose["services"]
    assert {"license-server", "prometheus", "alertmanager", "loki", "alloy", "grafana",
            "locust"} == set(services)
    assert services["locust"]["profiles"] == ["load"]
    assert all("profiles" not in s for n, s in services.items() if n != "locust")


def test_every_mounted_path_exists(compose):
    """Every repository path the compose file mounts is there (defaults of ${VAR:-x} included)."""
    for name, service in compose["services"].items():
        for source, _ in binds(service):
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"


def test_images_pinned(compose):
    """Every pulled image has an explicit version tag."""
    for name, service in compose["services"].items():
        if "build" in service or service["image"].startswith("license-demo/"):
            continue
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest" and re.search(r"\d+\.\d+\.\d+", tag), name


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
    rendered, _ = detection_config.render_alertmanager(detection_config.COMPOSE, "demo", env={})
    for config in (source, rendered):
        hooks = {h["url"] for r in config["receivers"] for h in r.get("webhook_configs", [])}
        assert hooks == {f"http://license-server:{SERVER_PORT}/api/alerts/webhook"}
        template_glob = config["templates"][0]
        folder = host_path(alertmanager, str(Path(template_glob).parent))
        assert folder and list(folder.glob(Path(template_glob).name)), template_glob
    assert host_path(alertmanager, "/etc/alertmanager/alertmanager.yml") == \
        REPO / "alertmanager/alertmanager.yml"
    script = (REPO / "scripts/compose-up.sh").read_text()
    assert "--target compose --out build/detection" in script
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
    listen = {"prometheus": 9090, "alertmanager": 9093, "loki": loki["server"]["http_listen_port"]}
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


def test_dockerfile():
    """python:3.11-slim, non-root, installs the project, health check, gunicorn via the module."""
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^USER app$", text, re.M) and "useradd" in text
    assert "pip install ." in text
    assert re.search(r"HEALTHCHECK .*\n.*127\.0\.0\.1:8000/healthz", text)
    assert 'CMD ["python", "-m", "license_server", "--host", "0.0.0.0"]' in text
    assert "PORT=8000" in text and "DATABASE_URL=sqlite:////data/license.db" in text
    for source in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for path in source.split():
            assert (REPO / path).exists(), f"COPY {path}: missing"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored and "README.md" not in ignored


def test_fly_toml_matches_the_server(server_factory):
    """fly.toml parses; its health check and metrics path answer on a real server, same port."""
    fly = tomllib.loads((REPO / "fly.toml").read_text())
    service = fly["http_service"]
    assert service["internal_port"] == fly["metrics"]["port"] == SERVER_PORT
    assert int(fly["env"]["PORT"]) == SERVER_PORT
    assert fly["build"]["dockerfile"] == "Dockerfile"
    assert fly["mounts"]["destination"] == "/data"
    assert "DATABASE_URL" not in fly["env"], "a secret must be able to override the database"
    assert "ADMIN_TOKEN" not in fly["env"]
    check = service["checks"][0]
    assert check["method"] == "GET"
    server = server_factory()
    assert requests.get(server.url + check["path"], timeout=5).status_code == 200
    metrics = requests.get(server.url + fly["metrics"]["path"], timeout=5)
    assert metrics.status_code == 200 and "license_server_build_info" in metrics.text
    readme = (REPO / "docs/dashboards-and-deployment.md").read_text()
    assert "fly secrets set ADMIN_TOKEN" in readme


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


def test_loki_config():
    """Single binary, filesystem storage, retention applied by the compactor."""
    config = yaml.safe_load((REPO / "loki/loki-config.yaml").read_text())
    assert config["auth_enabled"] is False
    assert config["common"]["storage"]["filesystem"]
    assert config["common"]["ring"]["kvstore"]["store"] == "inmemory"
    schema = config["schema_config"]["configs"][-1]
    assert (schema["store"], schema["object_store"], schema["schema"]) == ("tsdb", "filesystem", "v13")
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "filesystem"
    assert re.fullmatch(r"\d+h", config["limits_config"]["retention_period"])
    # Stream labels stay exactly app/level/event, as the server's direct push sends them.
    assert config["limits_config"]["discover_service_name"] == []


def test_alloy_config_parses_and_wires_components(alloy):
    """Every reference points at a declared component; the pipeline ends in loki.write."""
    declared = {f"{b.name}.{b.label}" for b in alloy.blocks}
    refs = []

    def collect(value):
        if isinstance(value, Ref):
            refs.append(value.path)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)

    def walk(block):
        for value in block.attributes.values():
            collect(value)
        for child in block.blocks:
            walk(child)
    walk(alloy)
    assert refs
    for path in refs:
        assert any(path.startswith(component + ".") for component in declared), path
    kinds = {b.name for b in alloy.blocks}
    assert {"discovery.docker", "loki.source.docker", "loki.process", "loki.write"} <= kinds


def test_alloy_pipeline_labels_match_the_server_push(alloy, compose):
    """app="license-server", level and event only, with the same bounded values as loki_push.py."""
    source = next(b for b in alloy.blocks if b.name == "loki.source.docker")
    assert source.attributes["labels"] == {"app": "license-server"}
    assert source.attributes["host"] == "unix:///var/run/docker.sock"
    docker = next(b for b in alloy.blocks if b.name == "discovery.docker")
    assert docker.find("filter")[0].attributes["values"] == \
        ["com.docker.compose.service=license-server"]
    process = next(b for b in alloy.blocks if b.name == "loki.process")
    assert set(process.find("stage.labels")[0].attributes["values"]) == {"level", "event"}
    templates = {t.attributes["source"]: t.attributes["template"]
                 for t in process.find("stage.template")}
    listed = {name: set(re.findall(r'"(\w+)"', templates[name].split("eq", 2)[-1]))
              for name in ("level", "event")}
    assert listed["event"] == set(KNOWN_EVENTS)
    assert listed["level"] == set(KNOWN_LEVELS)
    write = next(b for b in alloy.blocks if b.name == "loki.write")
    url = urllib.parse.urlparse(write.find("endpoint")[0].attributes["url"])
    loki = yaml.safe_load((REPO / "loki/loki-config.yaml").read_text())
    assert url.hostname == "loki" and url.port == loki["server"]["http_listen_port"]
    assert url.path == "/loki/api/v1/push"
    mounted = host_path(compose["services"]["alloy"], compose["services"]["alloy"]["command"][-1])
    assert mounted == REPO / "loki/config.alloy"


@pytest.mark.parametrize("text", [
    'loki.write "x" { endpoint { url = "http://a" }',        # unclosed block
    'loki.write "x" { url = }',                              # missing value
    'a = [1, 2',                                             # unclosed list
    'loki.source.docker "x" { labels = {app = "a" "b"} }',   # missing comma
])
def test_alloy_parser_rejects_broken_syntax(text):
    """The parser is strict enough to catch typical mistakes."""
    with pytest.raises(AlloySyntaxError):
        parse(text)


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
