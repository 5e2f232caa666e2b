"""The alert thresholds, read from the one source of the Prometheus rules (prometheus/rules.src.yml).

The server judges a fix with the same numbers Prometheus alerts on. An image that ships
without the rules source (the server alone) falls back to the values below, which are the
ones the source holds today.
"""
from __future__ import annotations

import logging
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "prometheus" / "rules.src.yml"
FALLBACK = {"high_overage_ratio": 0.3, "borrow_failure_ratio": 0.1}


def load(path: str | None) -> dict:
    """{"high_overage_ratio": 0.3, "borrow_failure_ratio": 0.1} from the rules source's settings."""
    source = Path(path) if path else DEFAULT_PATH
    try:
        settings = (yaml.safe_load(source.read_text()) or {}).get("settings") or {}
    except (OSError, yaml.YAMLError) as exc:
        log.warning("alert thresholds: cannot read %s (%s); using %s", source, exc, FALLBACK)
        return dict(FALLBACK)
    return {key: float(settings.get(key, default)) for key, default in FALLBACK.items()}
