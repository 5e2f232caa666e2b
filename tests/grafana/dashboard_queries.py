"""Walk generated dashboards: every query with where it comes from, and Grafana's variable expansion."""
from __future__ import annotations

import re

# What Grafana puts in for its built-in variables when the tests evaluate a query.
BUILTINS = {"$__rate_interval": "1m", "$__range": "1h", "$__interval": "15s"}


def panels(dashboard: dict):
    """Every panel, rows' children included."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(dashboards: dict, kind: str):
    """Yield (where, expr) for every `kind` ("prometheus" or "loki") target and annotation."""
    for name, dash in dashboards.items():
        for panel in panels(dash):
            for target in panel.get("targets", []):
                if target.get("datasource", panel.get("datasource", {}))["type"] == kind:
                    yield f"{name} / {panel['title']} / {target['refId']}", target["expr"]
        for annotation in dash["annotations"]["list"]:
            if annotation.get("datasource", {}).get("type") == kind:
                yield f"{name} / annotation {annotation['name']}", annotation["expr"]


def expand(expr: str, values: dict) -> str:
    """Replace $var / ${var} / ${var:format} and Grafana's $__ variables by test values."""
    for name, value in BUILTINS.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)",
                  lambda m: values[m.group(1) or m.group(2)], expr)
