"""The alert thresholds, the series each alert watches and the alert names of prometheus/rules.src.yml.

The one reader of the rule source outside the rule generator and the server (whose
license_server/rule_settings.py takes only the alert names and the two thresholds it judges
fixes with): the dashboards, the investigator, preflight and their tests take the same numbers
from here, so a threshold changed in the rule source moves the dashboard lines and the
investigator's sizing with it, and the investigator reads each alert's series
(`settings.alert_series`) from here too.

    from license_demo.rule_settings import load_rule_settings
    settings = load_rule_settings()
    settings.threshold("HighOverageCostBurn")   # 1000
    settings.reading("LicensesExhausted").query(tool="Vector - DaVinci Configurator SE")
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from license_demo.investigate.promql import quoted

RULES_SOURCE = Path(__file__).resolve().parent.parent / "prometheus" / "rules.src.yml"


@dataclass(frozen=True)
class AlertLine:
    """What a dashboard draws for one alert: the series the alert compares and its threshold."""

    alert: str
    series: str
    setting: str
    value: float


@dataclass(frozen=True)
class AlertReading:
    """What the investigator reads for one alert: PromQL with {tool}/{user}, what it measures, its unit."""

    alert: str
    template: str
    measures: str
    unit: str

    @property
    def needs(self) -> set[str]:
        """The placeholders the query needs filled: "tool", "user", both or none."""
        return {name for name in ("tool", "user") if "{" + name + "}" in self.template}

    def query(self, tool: str | None = None, user: str | None = None) -> str:
        """The PromQL with the tool and user filled in as string literals (`"` and `\\` escaped).

        The rule source writes the placeholders inside quotes (`tool="{tool}"`); the quotes
        are replaced along with them.
        """
        text = self.template
        for name, value in (("tool", tool), ("user", user)):
            literal = quoted(value or "")
            text = text.replace(f'"{{{name}}}"', literal).replace(f"{{{name}}}", literal)
        return text


@dataclass(frozen=True)
class RuleSettings:
    """The `settings` block of the rule source and the alert -> series mapping it declares."""

    values: dict
    alert_lines: dict[str, AlertLine]
    # What the investigator reads for each alert (threshold alerts and the others).
    readings: dict[str, AlertReading] = field(default_factory=dict)
    # Every alert name of the rule groups (both profiles hold the same alerts).
    alert_names: frozenset[str] = frozenset()

    def threshold(self, alert: str) -> float:
        """The threshold `alert` fires above (KeyError names the alerts that have one)."""
        try:
            return self.alert_lines[alert].value
        except KeyError:
            raise KeyError(f"{alert} has no entry under settings.alert_series in "
                           f"{RULES_SOURCE.name}; known: {sorted(self.alert_lines)}") from None

    def series(self, alert: str) -> str:
        """The series `alert` compares with its threshold."""
        return self.alert_lines[alert].series

    def reading(self, alert: str) -> AlertReading | None:
        """What the investigator reads for `alert`, None when the rule source gives nothing."""
        return self.readings.get(alert)


def load_rule_settings(path: Path | str | None = None) -> RuleSettings:
    """Read `settings` and the alert names of the rule source at `path` (default: the checkout's)."""
    source = Path(path or RULES_SOURCE)
    try:
        data = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the alert thresholds from {source}: {exc}; run from a checkout of "
                         "the project or pass --rules-file") from exc
    values = data.get("settings")
    if not isinstance(values, dict):
        raise ValueError(f"{source} has no `settings` mapping with the alert thresholds")
    lines, readings = {}, {}
    for alert, entry in values.get("alert_series", {}).items():
        if "threshold" in entry:
            lines[alert] = AlertLine(alert=alert, series=entry["series"], setting=entry["threshold"],
                                     value=values[entry["threshold"]])
        if "investigate" in entry:
            readings[alert] = AlertReading(alert=alert, template=entry["investigate"],
                                           measures=entry.get("measures", alert), unit=entry.get("unit", ""))
    names = frozenset(rule["alert"] for group in data.get("rule_groups", []) for rule in group.get("rules", [])
                      if "alert" in rule)
    return RuleSettings(values=values, alert_lines=lines, readings=readings, alert_names=names)


def percent(ratio: float) -> str:
    """A ratio as people write it: 0.3 -> '30 %'."""
    return f"{ratio * 100:g} %"


def dollars(amount: float) -> str:
    """Money as people write it: 1000 -> '$1,000', 12.5 -> '$12.50'."""
    return f"${amount:,.0f}" if float(amount).is_integer() else f"${amount:,.2f}"
