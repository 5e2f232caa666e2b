"""Where each deployment's services listen and where its configs find their files.

The committed prometheus/prometheus.yml and alertmanager/alertmanager.yml are written for the
compose deployment (service names); the native stack's loopback ports and the hosted
(cloud) Alertmanager are rendered from them by swapping these addresses.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_SOURCE = REPO / "prometheus" / "prometheus.yml"
ALERTMANAGER_SOURCE = REPO / "alertmanager" / "alertmanager.yml"
CHANNELS_SOURCE = REPO / "alertmanager" / "channels.yml"
RULES_DIR = REPO / "prometheus" / "rules"
TEMPLATES_DIR = REPO / "alertmanager" / "templates"


@dataclass(frozen=True)
class Addresses:
    """Where the three services listen (host:port) and where the configs find their files."""

    license_server: str
    prometheus: str
    alertmanager: str
    rules_dir: str
    templates_dir: str
    secrets_dir: str


COMPOSE = Addresses(license_server="license-server:8000", prometheus="localhost:9090",
                    alertmanager="alertmanager:9093", rules_dir="rules",
                    templates_dir="/etc/alertmanager/templates",
                    secrets_dir="/etc/alertmanager/secrets")


def native_addresses(server_port: int, prometheus_port: int, alertmanager_port: int,
                     secrets_dir: Path, host: str = "127.0.0.1") -> Addresses:
    """Addresses of a native stack on loopback ports, reading rules and templates from the repo.

    Every folder is absolute: Prometheus and Alertmanager read a relative path against their
    configuration file's folder, not against the directory the stack was started from.
    """
    return Addresses(license_server=f"{host}:{server_port}",
                     prometheus=f"{host}:{prometheus_port}",
                     alertmanager=f"{host}:{alertmanager_port}",
                     rules_dir=str(RULES_DIR), templates_dir=str(TEMPLATES_DIR),
                     secrets_dir=str(Path(secrets_dir).expanduser().resolve()))


def swap(text: str, addresses: Addresses) -> str:
    """Replace the compose service addresses in `text` by those of `addresses`."""
    for name in ("license_server", "prometheus", "alertmanager"):
        text = text.replace(getattr(COMPOSE, name), getattr(addresses, name))
    return text
