"""The scraper Fly app: its Alloy file parses, scrapes what the server's fly.toml exposes, writes where the docs say."""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRAPER = REPO / "cloud" / "scraper"
sys.path.insert(0, str(REPO / "tests" / "deploy"))
from alloy_syntax import Call, Ref, parse  # noqa: E402  (the parser the compose Alloy file is checked with)


def blocks(root, name):
    """The top-level blocks called `name`, by label."""
    return {block.label: block for block in root.blocks if block.name == name}


def test_the_scraper_scrapes_the_servers_metrics_port_over_the_private_network(app):
    server = tomllib.loads((REPO / "fly.toml").read_text())
    scraper = tomllib.loads((SCRAPER / "fly.toml").read_text())
    alloy = parse((SCRAPER / "config.alloy").read_text())
    # One component of each kind, under the labels the references below name.
    assert [(b.name, b.label) for b in alloy.blocks] == [
        ("discovery.dns", "license_server"), ("prometheus.scrape", "license_server"),
        ("prometheus.remote_write", "grafana_cloud")]
    dns, scrape = blocks(alloy, "discovery.dns")["license_server"], blocks(alloy, "prometheus.scrape")["license_server"]
    # Every machine of the server app by its private name, on the [metrics] port and path.
    assert dns.attributes["names"] == [Call("env", ["LICENSE_SERVER_INTERNAL_NAME"])]
    assert scraper["env"]["LICENSE_SERVER_INTERNAL_NAME"] == f"{server['app']}.internal"
    assert dns.attributes["type"] == "AAAA" and dns.attributes["port"] == server["metrics"]["port"]
    assert scrape.attributes["targets"] == Ref("discovery.dns.license_server.targets")
    assert scrape.attributes["metrics_path"] == server["metrics"]["path"]
    # The rules and dashboards select the job prometheus/prometheus.yml scrapes the server as.
    jobs = yaml.safe_load((REPO / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    (server_job,) = [job["job_name"] for job in jobs if job["job_name"] not in ("prometheus", "alertmanager")]
    assert scrape.attributes["job_name"] == server_job == "license-server"
    assert scrape.attributes["forward_to"] == [Ref("prometheus.remote_write.grafana_cloud.receiver")]
    # The scraper serves nothing publicly.
    assert "http_service" not in scraper and "services" not in scraper
    assert scraper["app"] != server["app"] and scraper["primary_region"] == server["primary_region"]
    # What it scrapes answers there on the real server bound as fly.toml binds it: over IPv6, as the
    # scraper comes through Fly's private network, and IPv4; the public port keeps it to itself.
    port = app.extra["metrics"].rsplit(":", 1)[1]
    for host in ("[::1]", "127.0.0.1"):
        metrics = requests.get(f"http://{host}:{port}{scrape.attributes['metrics_path']}", timeout=5)
        assert metrics.status_code == 200 and "licenses_in_use" in metrics.text, host
    assert requests.get(app.url + scrape.attributes["metrics_path"], timeout=5).status_code == 404
    assert server["env"]["METRICS_HOST"] == "[::]"


def test_the_scraper_writes_to_grafana_cloud_with_credentials_from_fly_secrets():
    alloy = parse((SCRAPER / "config.alloy").read_text())
    (write,) = blocks(alloy, "prometheus.remote_write").values()
    (endpoint,) = write.find("endpoint")
    (auth,) = endpoint.find("basic_auth")
    secrets = {endpoint.attributes["url"].args[0], auth.attributes["username"].args[0],
               auth.attributes["password"].args[0]}
    assert secrets == {"PROMETHEUS_REMOTE_WRITE_URL", "PROMETHEUS_USER", "PROMETHEUS_PASSWORD"}
    assert all(isinstance(v, Call) and v.name == "env" for v in
               (endpoint.attributes["url"], auth.attributes["username"], auth.attributes["password"]))
    # None of them is set in a file of the repository; the docs set them as secrets of the scraper app.
    scraper = tomllib.loads((SCRAPER / "fly.toml").read_text())
    assert not secrets & set(scraper.get("env", {}))
    docs = (REPO / "docs" / "dashboards-and-deployment.md").read_text()
    line = next(l for l in docs.splitlines() if "fly secrets set -a" in l and scraper["app"] in l)
    assert all(name + "=" in docs.split(line, 1)[1][:400] or name + "=" in line for name in secrets)
    assert "fly deploy cloud/scraper" in docs
    # The image runs this file, on the Alloy release compose runs (fly deploy builds in cloud/scraper).
    dockerfile = (SCRAPER / "Dockerfile").read_text()
    assert "COPY config.alloy /etc/alloy/config.alloy" in dockerfile and '"/etc/alloy/config.alloy"' in dockerfile
    assert all((SCRAPER / source).is_file() for source in re.findall(r"^COPY (\S+) \S+$", dockerfile, re.M))
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert re.search(rf"^FROM {re.escape(compose['services']['alloy']['image'])}$", dockerfile, re.M)
