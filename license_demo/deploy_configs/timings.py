"""The rule and notification timings of each profile (demo, production) and the detection floor they give."""
from __future__ import annotations

from pathlib import Path

import yaml

from license_demo.deploy_configs.addresses import RULES_DIR, Addresses, native_addresses
from rule_source.durations import duration_seconds

# Timings per profile; the demo values are the ones the committed compose files carry.
PROFILES = {
    "demo": {"scrape_interval": "2s", "evaluation_interval": "2s", "rules": "demo.yml",
             "group_wait": "2s", "group_interval": "10s", "repeat_interval": "1h"},
    "production": {"scrape_interval": "15s", "evaluation_interval": "15s",
                   "rules": "production.yml", "group_wait": "30s", "group_interval": "5m",
                   "repeat_interval": "4h"},
}


# The story's promise for the demo profile: the first overage borrow reaches the webhook as
# HighOverageRate within this many seconds (the median of bench/bench_detection.py).
DETECTION_BUDGET_SECONDS = 15.0


def detection_floor(profile: str = "demo", alert: str = "HighOverageRate",
                    rules_dir: Path = RULES_DIR) -> dict[str, float]:
    """The timing parts between a change on the server and `alert` at the webhook, in seconds.

    Read from what a stack really runs: the rendered prometheus.yml (scrape and evaluation
    interval), the rendered rule file (`for:`) and the rendered alertmanager.yml (group_wait).
    Their sum is the delay when every part waits its longest.
    """
    addresses = native_addresses(8000, 9090, 9093, Path("secrets"))
    addresses = Addresses(**{**addresses.__dict__, "rules_dir": str(rules_dir)})
    from license_demo.deploy_configs.alertmanager import render_alertmanager
    from license_demo.deploy_configs.prometheus import render_prometheus
    prometheus = render_prometheus(addresses, profile)
    alertmanager, _ = render_alertmanager(addresses, profile, env={})
    rules = yaml.safe_load(Path(prometheus["rule_files"][0]).read_text())
    hold = next(rule.get("for", "0s") for group in rules["groups"] for rule in group["rules"]
                if rule.get("alert") == alert)
    return {"scrape": duration_seconds(prometheus["global"]["scrape_interval"]),
            "evaluation": duration_seconds(prometheus["global"]["evaluation_interval"]),
            "for": duration_seconds(hold),
            "group_wait": duration_seconds(alertmanager["route"]["group_wait"])}
