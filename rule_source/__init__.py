"""The rule source (prometheus/rules.src.yml) and the PromQL it is written in, shared by every part.

The server, the demo CLI (`license_demo`), the dashboards (`grafana`) and the rule generator
(`prometheus/generate_rules.py`) import this package; it imports none of them. Modules:
`reader` (the one reader: `load`), `promql` (string literals, counter growth, durations in
queries) and `durations` (the one parser of Prometheus durations).
"""
from rule_source.reader import (DEFAULT_PATH, INCIDENT_KINDS, PATH_VARIABLE, AlertLine, AlertReading,
                                RuleSource, default_path, dollars, load, percent)

__all__ = ["DEFAULT_PATH", "INCIDENT_KINDS", "PATH_VARIABLE", "AlertLine", "AlertReading", "RuleSource",
           "default_path", "dollars", "load", "percent"]
