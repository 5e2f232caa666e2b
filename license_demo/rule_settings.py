"""The rule source's reader under its former name, for the investigator's imports: use `rule_source`."""
from __future__ import annotations

from rule_source import DEFAULT_PATH as RULES_SOURCE, RuleSource as RuleSettings, dollars, percent
from rule_source import load as load_rule_settings

__all__ = ["RULES_SOURCE", "RuleSettings", "dollars", "load_rule_settings", "percent"]
