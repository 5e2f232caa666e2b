"""The one reader of prometheus/rules.src.yml: alert names, thresholds, windows, the series each
alert is about, the rule groups and the kind of problem each alert's incident is.

The server, the demo CLI, the dashboards and the rule generator all take these from here, so a
threshold changed in the rule source moves the rules, the dashboards' lines, the server's fix
verification, the investigator's sizing and the journeys' checks together.

    import rule_source
    rules = rule_source.load()
    rules.threshold("HighOverageRate")          # 0.3
    rules.hold_seconds("HighOverageRate", "demo")   # 4.0
    rules.reading("LicensesExhausted").query(tool="Vector - DaVinci Configurator SE")
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from rule_source.durations import duration_seconds
from rule_source.promql import quoted

# The checkout's rule source; RULES_SOURCE_FILE points elsewhere (the server's image sets it),
# and so does the server's own setting when only that is given.
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "prometheus" / "rules.src.yml"
PATH_VARIABLE = "RULES_SOURCE_FILE"
SERVER_VARIABLE = "ALERT_RULES_FILE"
# The kinds of problem the server verifies a fix of (settings.alert_series.<alert>.incident).
INCIDENT_KINDS = ("overage", "exhaustion", "failure")


def default_path() -> Path:
    """$RULES_SOURCE_FILE when set, else the server's $ALERT_RULES_FILE, else the checkout's
    prometheus/rules.src.yml: every reader in one process reads the same file."""
    return Path(os.environ.get(PATH_VARIABLE) or os.environ.get(SERVER_VARIABLE) or DEFAULT_PATH)


@dataclass(frozen=True)
class AlertLine:
    """What a dashboard draws for one alert: the series the alert compares and its threshold."""

    alert: str
    series: str
    setting: str
    value: float  # as written: 10 stays an int


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
class RuleSource:
    """The parsed rule source: its `settings`, `profiles` and `rule_groups`, read one way."""

    path: Path
    # The `settings` block as written (thresholds, links, alert_series).
    values: dict
    # {profile: {"window": "30s", ...}} as written.
    profiles: dict
    # The `rule_groups` as written.
    rule_groups: list

    @cached_property
    def alert_names(self) -> frozenset[str]:
        """Every alert name of the rule groups (both profiles hold the same alerts)."""
        return frozenset(name for names in self.groups.values() for name in names)

    @cached_property
    def groups(self) -> dict[str, tuple[str, ...]]:
        """Each rule group's alert names, in the order the groups and their rules are written."""
        return {group["name"]: tuple(dict.fromkeys(rule["alert"] for rule in group.get("rules", [])
                                                   if "alert" in rule))
                for group in self.rule_groups}

    @cached_property
    def alert_lines(self) -> dict[str, AlertLine]:
        """The threshold alerts: the series each compares and the setting it compares it with."""
        return {alert: AlertLine(alert=alert, series=entry["series"], setting=entry["threshold"],
                                 value=self.values[entry["threshold"]])
                for alert, entry in self._alert_series.items() if "threshold" in entry}

    @cached_property
    def readings(self) -> dict[str, AlertReading]:
        """What the investigator reads for each alert (threshold alerts and the others)."""
        return {alert: AlertReading(alert=alert, template=entry["investigate"],
                                    measures=entry.get("measures", alert), unit=entry.get("unit", ""))
                for alert, entry in self._alert_series.items() if "investigate" in entry}

    @cached_property
    def thresholds(self) -> dict[str, float]:
        """Every threshold setting an alert compares with, by setting name."""
        return {line.setting: float(line.value) for line in self.alert_lines.values()}

    @property
    def _alert_series(self) -> dict:
        return self.values.get("alert_series") or {}

    def threshold(self, alert: str) -> float:
        """The threshold `alert` fires above (KeyError names the alerts that have one)."""
        try:
            return self.alert_lines[alert].value
        except KeyError:
            raise KeyError(f"{alert} has no threshold under settings.alert_series in "
                           f"{self.path}; known: {sorted(self.alert_lines)}") from None

    def series(self, alert: str) -> str:
        """The series `alert` compares with its threshold."""
        return self.alert_lines[alert].series

    def reading(self, alert: str) -> AlertReading | None:
        """What the investigator reads for `alert`, None when the rule source gives nothing."""
        return self.readings.get(alert)

    def incident_alerts(self, kind: str) -> tuple[str, ...]:
        """The alerts whose incidents are `kind` problems ("overage", "exhaustion", "failure")."""
        if kind not in INCIDENT_KINDS:
            raise KeyError(f"{kind!r} is not an incident kind; known: {', '.join(INCIDENT_KINDS)}")
        return tuple(alert for alert, entry in self._alert_series.items() if entry.get("incident") == kind)

    def window_seconds(self, profile: str, name: str = "window") -> float:
        """A rate window of `profile` (`window` or `seat_window`) in seconds."""
        return duration_seconds(str(self.profiles[profile][name]))

    def hold_seconds(self, alert: str, profile: str) -> float:
        """How long `alert` must hold under `profile` before it fires (its `for:`), in seconds."""
        holds = {rule["for"][profile] for group in self.rule_groups for rule in group.get("rules", [])
                 if rule.get("alert") == alert}
        if len(holds) != 1:
            raise KeyError(f"{alert} has {len(holds)} `for:` values for profile {profile} in {self.path}")
        return duration_seconds(holds.pop())


def load(path: str | Path | None = None, setting: str = PATH_VARIABLE) -> RuleSource:
    """The rule source at `path` (default: `default_path()`).

    A file that cannot be read, or lacks `settings`, alerts or a threshold an alert names, is a
    ValueError naming the file, and `setting`, the way its reader is pointed at another file.
    """
    source = Path(path) if path else default_path()
    fix = f"set {setting} to the project's prometheus/rules.src.yml"
    try:
        document = yaml.safe_load(source.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the alert rules {setting}={source} ({exc}); {fix}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("settings"), dict):
        raise ValueError(f"{setting}={source} has no `settings` mapping with the alert thresholds; {fix}")
    rules = RuleSource(path=source, values=document["settings"], profiles=document.get("profiles") or {},
                       rule_groups=document.get("rule_groups") or [])
    series = rules.values.get("alert_series") or {}
    missing = sorted({entry["threshold"] for entry in series.values() if "threshold" in entry
                      and not isinstance(rules.values.get(entry["threshold"]), (int, float))})
    if missing or not rules.alert_names:
        what = f"no {', '.join(missing)} under settings" if missing else "no alert rules"
        raise ValueError(f"{setting}={source} has {what}; {fix}")
    return rules


def percent(ratio: float) -> str:
    """A ratio as people write it: 0.3 -> '30 %'."""
    return f"{ratio * 100:g} %"


def dollars(amount: float) -> str:
    """Money as people write it: 1000 -> '$1,000', 12.5 -> '$12.50'."""
    return f"${amount:,.0f}" if float(amount).is_integer() else f"${amount:,.2f}"
