"""Gather the facts: numbers from Prometheus, the license server and Alertmanager, each with its query."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests

from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.investigate import logs
from license_demo.investigate.subject import Subject, symptom_alert

# The series each alert fires on, as PromQL with {tool} and {user} filled in; its baseline
# is the same series over the same window one window earlier.
ALERT_SERIES = {
    "HighOverageRate": 'tool:license_overage_seats:ratio{{tool="{tool}"}}',
    "OverageLimitReached": 'sum(licenses_overage{{tool="{tool}"}})',
    "HighOverageCostBurn": 'tool:license_overage_cost_burn:dollars_per_hour{{tool="{tool}"}}',
    "LicensesExhausted": 'sum(licenses_available{{tool="{tool}"}})',
    "SingleUserHoarding": 'sum(licenses_held_by_user{{user="{user}"}})',
    "BorrowFailureSpike": 'sum(tool_reason:license_borrow_failures:ratio{{tool="{tool}",reason!="exhausted"}})',
    "LicenseServerDown": 'min(up{{job="license-server"}})',
}
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass
class Fact:
    """One number (or small table) with the query that produced it and where it came from."""

    key: str
    label: str
    value: Any
    query: str
    source: str
    unit: str = ""

    def to_dict(self) -> dict:
        """The fact as JSON-ready data."""
        return {"key": self.key, "label": self.label, "value": self.value, "unit": self.unit,
                "query": self.query, "source": self.source}


@dataclass
class Settings:
    """How far back to look: `window` for recent activity, `lookback` for steady demand (seconds)."""

    window: int = 600
    lookback: int = 8 * 3600
    hoarding_seats: int = 10


@dataclass
class Sources:
    """The HTTP APIs the investigator reads."""

    server: ServerClient
    prometheus: PrometheusClient
    alertmanager: AlertmanagerClient | None = None
    loki_url: str | None = None


@dataclass
class Evidence:
    """Everything gathered at one instant: facts for the report, data for the rules."""

    at: float
    settings: Settings
    subject: Subject
    facts: dict[str, Fact] = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def fact(self, key: str) -> Fact | None:
        """The fact stored under `key`, if gathered."""
        return self.facts.get(key)

    def to_dict(self) -> dict:
        """The evidence as JSON-ready data (facts in the order gathered)."""
        return {"at": iso(self.at), "at_epoch": self.at, "window_seconds": self.settings.window,
                "lookback_seconds": self.settings.lookback, "subject": self.subject.to_dict(),
                "facts": [f.to_dict() for f in self.facts.values()], "notes": self.notes}


def iso(at: float) -> str:
    """Epoch seconds as ISO 8601 UTC."""
    return datetime.utcfromtimestamp(at).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str | None) -> float | None:
    """ISO 8601 time (with Z or an offset) as epoch seconds; None stays None."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Collector:
    """Runs queries at one fixed instant and records each answer as a fact."""

    def __init__(self, sources: Sources, evidence: Evidence):
        """Query `sources`, recording into `evidence`."""
        self.sources, self.ev = sources, evidence
        self.prometheus_ok = True

    def add(self, key: str, label: str, value, query: str, source: str, unit: str = "") -> Any:
        """Record one fact and return its value."""
        self.ev.facts[key] = Fact(key, label, value, query, source, unit)
        return value

    def rows(self, key: str | None, label: str, expr: str, by: tuple[str, ...], unit: str = "") -> list[dict]:
        """An instant vector as rows {label: value..., "value": float}; recorded when `key` is set."""
        if not self.prometheus_ok:
            return []
        try:
            result = self.sources.prometheus.query(expr, at=self.ev.at)
        except DemoError as exc:
            self.ev.notes.append(f"query failed: {expr} ({exc})")
            return []
        rows = [{**{name: r["metric"].get(name, "") for name in by},
                 "value": round(float(r["value"][1]), 4)} for r in result]
        rows.sort(key=lambda r: -r["value"] if r["value"] == r["value"] else 0)
        if key:
            self.add(key, label, rows, expr, "prometheus", unit)
        return rows

    def scalar(self, key: str | None, label: str, expr: str, unit: str = "",
               default: float | None = 0.0) -> float | None:
        """A one-value query (empty answer: `default`); recorded when `key` is set and Prometheus answers."""
        if not self.prometheus_ok:
            return default
        rows = self.rows(None, label, expr, ())
        value = rows[0]["value"] if rows else default
        if key:
            self.add(key, label, value, expr, "prometheus", unit)
        return value


def grew(metric: str, by: str, span: float, offset: float = 0) -> str:
    """PromQL for how much a counter grew over `span` seconds ending `offset` seconds ago.

    increase() never sees the first value of a series born inside its range (a tool's or a
    user's first borrow creates it), so this subtracts the sums at both ends and counts a
    series missing at the start from 0; a counter reset (server restart) clamps to 0.
    """
    agg = f"sum by ({by}) " if by else "sum "
    end = f" offset {int(offset)}s" if offset else ""
    start = f" offset {int(offset + span)}s"
    return f"clamp_min({agg}({metric}{end}) - ({agg}({metric}{start}) or {agg}({metric}{end}) * 0), 0)"


def _duration(seconds: float) -> str:
    """A PromQL duration in whole seconds."""
    return f"{max(int(seconds), 1)}s"


def _server_facts(col: Collector) -> None:
    """Can the investigator reach the server, and what tools does it lend."""
    ev, server = col.ev, col.sources.server
    try:
        server.call("GET", "/healthz")
        reachable = 1
    except DemoError as exc:
        reachable = 0
        ev.notes.append(str(exc))
    col.add("server_reachable", "license server answers /healthz (1 yes, 0 no)", reachable,
            f"GET {server.url}/healthz", "server")
    ev.data["server_reachable"] = bool(reachable)
    ev.data["tools"] = {}
    if reachable:
        try:
            ev.data["tools"] = {t["name"]: t for t in server.tools()}
        except DemoError as exc:
            ev.notes.append(str(exc))


def _prometheus_facts(col: Collector) -> None:
    """Scrape health: `up` of the server target and the target's last error."""
    ev, prom = col.ev, col.sources.prometheus
    try:
        prom.query("vector(1)")
    except (DemoError, requests.RequestException) as exc:
        col.prometheus_ok = False
        ev.data["prometheus_reachable"] = False
        ev.notes.append(f"Prometheus unreachable: {exc}; facts come from the server only")
        return
    ev.data["prometheus_reachable"] = True
    up = col.rows("server_up", "up of the license-server target (1 scraped, 0 failing)",
                  'up{job="license-server"}', ("instance",))
    ev.data["up"] = min((r["value"] for r in up), default=None)
    try:
        targets = requests.get(prom.url.rstrip("/") + "/api/v1/targets", timeout=10).json()
        errors = [t.get("lastError") for t in targets["data"]["activeTargets"]
                  if t.get("labels", {}).get("job") == "license-server" and t.get("lastError")]
    except (requests.RequestException, ValueError, KeyError):
        errors = []
    ev.data["target_error"] = errors[0] if errors else ""
    col.add("scrape_error", "last scrape error of the license-server target", ev.data["target_error"] or "none",
            "GET /api/v1/targets", "prometheus")


def _alert_facts(col: Collector) -> None:
    """Which alerts fire now (Prometheus keeps activeAt, Alertmanager and the webhook the rest)."""
    ev, src = col.ev, col.sources
    alerts: dict[tuple, dict] = {}
    try:
        data = requests.get(src.prometheus.url.rstrip("/") + "/api/v1/alerts", timeout=10).json()
        for a in data["data"]["alerts"]:
            if a.get("state") == "firing":
                key = tuple(sorted(a["labels"].items()))
                alerts[key] = {"labels": a["labels"], "active_at": epoch(a.get("activeAt")),
                               "source": "prometheus"}
    except (requests.RequestException, ValueError, KeyError):
        pass
    if src.alertmanager is not None:
        try:
            for a in src.alertmanager.active():
                key = tuple(sorted(a["labels"].items()))
                entry = alerts.setdefault(key, {"labels": a["labels"], "source": "alertmanager"})
                entry["starts_at"] = epoch(a.get("startsAt"))
        except (DemoError, requests.RequestException):
            pass
    if ev.data.get("server_reachable"):
        try:
            for a in src.server.alerts(status="firing"):
                key = tuple(sorted(a.get("labels", {}).items()))
                entry = alerts.setdefault(key, {"labels": a.get("labels", {}), "source": "webhook"})
                entry["received_at"] = epoch(a.get("received_at"))
        except (DemoError, requests.RequestException):
            pass
    firing = sorted(alerts.values(), key=lambda a: (SEVERITY_ORDER.get(a["labels"].get("severity"), 3),
                                                    a["labels"].get("alertname", "")))
    ev.data["alerts"] = firing
    col.add("alerts_firing", "alerts firing now", [
        {k: a["labels"].get(k, "") for k in ("alertname", "severity", "tool", "user")} for a in firing],
        "Prometheus GET /api/v1/alerts, Alertmanager GET /api/v2/alerts, server GET /api/alerts?status=firing",
        "alertmanager")


def _pick_alert(ev: Evidence) -> dict | None:
    """The firing alert this investigation is about: the named one, else one matching the subject."""
    subject, firing = ev.subject, ev.data.get("alerts", [])

    def fits(a: dict) -> bool:
        labels = a["labels"]
        return ((not subject.tool or labels.get("tool") in (None, subject.tool))
                and (not subject.user or labels.get("user") in (None, subject.user)))

    if subject.alert:
        named = [a for a in firing if a["labels"].get("alertname") == subject.alert]
        return next((a for a in named if fits(a)), named[0] if named else None)
    hinted = symptom_alert(subject)
    for candidates in ([a for a in firing if a["labels"].get("alertname") == hinted and fits(a)],
                       [a for a in firing if fits(a) and (subject.tool or subject.user)
                        and (a["labels"].get("tool") == subject.tool or a["labels"].get("user") == subject.user)]):
        if candidates:
            return candidates[0]
    return None


def _tool_facts(col: Collector) -> None:
    """Seats per tool now, borrows and overage in the window and the window before."""
    ev, w, ws = col.ev, _duration(col.ev.settings.window), col.ev.settings.window
    now = {}
    for metric in ("licenses_in_use", "licenses_commit", "licenses_overage", "licenses_max_overage",
                   "licenses_available"):
        for r in col.rows(None, metric, f"sum by (tool) ({metric})", ("tool",)):
            now.setdefault(r["tool"], {})[metric.replace("licenses_", "")] = r["value"]
    ev.data["now_by_tool"] = now
    if not ev.data["tools"]:
        ev.data["tools"] = {tool: {"name": tool, **v} for tool, v in now.items()}
    for key, label, expr in (
            ("borrows_window", f"successful borrows per tool in the last {w}",
             grew("license_borrow_success_total", "tool", ws)),
            ("overage_window", f"overage checkouts per tool in the last {w}",
             grew("license_overage_checkouts_total", "tool", ws)),
            ("overage_baseline", f"overage checkouts per tool in the {w} before that",
             grew("license_overage_checkouts_total", "tool", ws, ws)),
            ("overage_cost_window", f"overage charges per tool in the last {w}",
             grew("license_overage_cost_dollars_total", "tool", ws)),
            ("lease_expiries_window", f"lease expiries per tool in the last {w}",
             grew("license_lease_expirations_total", "tool", ws)),
            ("config_changes_window", f"configuration changes per tool in the last {w}",
             grew("license_config_changes_total", "tool", ws) + " > 0")):
        rows = col.rows(key, label, expr, ("tool",), "$" if "cost" in key else "")
        ev.data[key] = {r["tool"]: r["value"] for r in rows}
    col.rows("failures_window", f"failed borrows by tool and reason in the last {w}",
             grew("license_borrow_failures_total", "tool, reason", col.ev.settings.window) + " > 0", ("tool", "reason"))
    ratios = col.rows("failure_ratio_now", "share of borrow attempts failing now, by reason (recording rule)",
                      'tool_reason:license_borrow_failures:ratio{reason!="exhausted"} > 0', ("tool", "reason"))
    ev.data["failure_ratio_now"] = ratios
    col.rows("faults_active", "fault switches on now", "license_fault_active == 1", ("fault", "variant"))


def _choose_tool(ev: Evidence) -> str | None:
    """The tool in focus: named (ties broken by overage seats now), from the alert, or the most overage."""
    subject, now = ev.subject, ev.data.get("now_by_tool", {})
    alert = ev.data.get("alert")
    if subject.tool:
        return subject.tool
    overage = lambda t: (now.get(t, {}).get("overage", 0), ev.data["overage_window"].get(t, 0))  # noqa: E731
    if subject.tool_candidates:
        chosen = max(subject.tool_candidates, key=overage)
        ev.notes.append(f"{subject.text!r} matches {', '.join(subject.tool_candidates)}; "
                        f"chose {chosen}, the one with the most overage now")
        return chosen
    if alert and alert["labels"].get("tool"):
        return alert["labels"]["tool"]
    busiest = max(now, key=overage, default=None)
    if busiest and overage(busiest)[0] > 0 and not subject.user:
        return busiest
    return None


def _focus_tool_facts(col: Collector, tool: str) -> None:
    """Who drives the borrows of the tool in focus, who holds its seats, how steady its demand is."""
    ev, w, s = col.ev, _duration(col.ev.settings.window), col.ev.settings
    sel = f'tool="{tool}"'
    users = col.rows("checkouts_by_user", f"checkouts of {tool} by user in the last {w}",
                     grew(f"license_checkouts_by_user_total{{{sel}}}", "user, team", s.window) + " > 0",
                     ("user", "team"))
    teams = col.rows("checkouts_by_team", f"checkouts of {tool} by team in the last {w}",
                     grew(f"license_checkouts_by_user_total{{{sel}}}", "team", s.window) + " > 0", ("team",))
    ev.data["checkouts_by_user"], ev.data["checkouts_by_team"] = users, teams
    total = sum(r["value"] for r in teams)
    ev.data["top_team"] = teams[0]["team"] if teams else None
    ev.data["top_team_share"] = round(teams[0]["value"] / total, 3) if total else 0.0
    ev.data["teams_over_20pct"] = sum(1 for r in teams if total and r["value"] / total >= 0.2)
    if teams:
        col.add("top_team_share", f"share of {tool} checkouts by team {teams[0]['team']}",
                ev.data["top_team_share"],
                f"max({grew(f'license_checkouts_by_user_total{{{sel}}}', 'team', s.window)}) / "
                f"{grew(f'license_checkouts_by_user_total{{{sel}}}', '', s.window)}",
                "prometheus", "ratio")
    held = {}
    if ev.data.get("server_reachable"):
        try:
            for b in col.sources.server.borrows(tool=tool):
                entry = held.setdefault(b.get("team") or "(none)", {"seats": 0, "overage": 0})
                entry["seats"] += 1
                entry["overage"] += 1 if b.get("overage") else 0
        except DemoError as exc:
            ev.notes.append(str(exc))
        col.add("held_by_team", f"seats of {tool} held now, by team",
                [{"team": t, **v} for t, v in sorted(held.items(), key=lambda kv: -kv[1]["seats"])],
                f"GET /api/borrows?tool={tool}", "server")
    ev.data["held_by_team"] = held
    # Steady demand: the share of the lookback during which seats in use exceeded commit.
    lb, step = _duration(s.lookback), _duration(max(15, s.lookback // 480))
    in_use, commit = f"sum(licenses_in_use{{{sel}}})", f"sum(licenses_commit{{{sel}}})"
    ev.data["above_commit_fraction"] = col.scalar(
        "above_commit_fraction", f"share of the last {lb} with more {tool} seats in use than commit",
        f"avg_over_time(({in_use} > bool {commit})[{lb}:{step}])", "ratio")
    points = col.scalar(None, "", f"count_over_time(({in_use})[{lb}:{step}])")
    ev.data["coverage_seconds"] = col.add(
        "history_covered", f"seconds of the last {lb} with {tool} data in Prometheus",
        round((points or 0) * int(step[:-1])), f"count_over_time(({in_use})[{lb}:{step}]) * {step[:-1]}",
        "prometheus", "s")
    series = ALERT_SERIES["HighOverageRate"].format(tool=tool)
    col.scalar("overage_share_now", f"share of {tool} seats in use that are overage now",
               series, "ratio")
    col.scalar("overage_seats_now", f"overage seats of {tool} in use now",
               f'sum(licenses_overage{{{sel}}})')


def _holder_facts(col: Collector) -> None:
    """Who holds the most seats now, and on how many tools."""
    ev = col.ev
    top = col.rows("top_holders", "seats held now by the top 5 users",
                   "topk(5, sum by (user, team) (licenses_held_by_user) > 0)", ("user", "team"))
    total = col.scalar("seats_in_use_total", "seats in use now, all tools", "sum(licenses_in_use)")
    available = col.scalar("seats_available_total", "seats free now, all tools", "sum(licenses_available)")
    ev.data.update(top_holders=top, seats_in_use_total=total, seats_available_total=available)
    user = ev.subject.user or (ev.data.get("alert") or {}).get("labels", {}).get("user")
    if not user and top:
        user = top[0]["user"]
    ev.data["holder"] = user
    if not user:
        return
    held = col.scalar("holder_seats", f"seats held now by {user}",
                      f'sum(licenses_held_by_user{{user="{user}"}})')
    ev.data["holder_seats"] = held or 0
    ev.data["holder_team"] = next((r["team"] for r in top if r["user"] == user), None)
    ev.data["holder_share"] = round((held or 0) / total, 3) if total else 0.0
    col.add("holder_share", f"share of all seats in use held by {user}", ev.data["holder_share"],
            f'sum(licenses_held_by_user{{user="{user}"}}) / sum(licenses_in_use)', "prometheus", "ratio")
    w = _duration(ev.settings.window)
    mine = col.scalar(None, "", grew(f'license_checkouts_by_user_total{{user="{user}"}}', "", ev.settings.window))
    everyone = col.scalar(None, "", grew("license_checkouts_by_user_total", "", ev.settings.window))
    ev.data["holder_checkout_share"] = round(mine / everyone, 3) if everyone else 0.0
    col.add("holder_checkout_share", f"share of all checkouts in the last {w} made by {user}",
            ev.data["holder_checkout_share"],
            grew(f'license_checkouts_by_user_total{{user="{user}"}}', "", ev.settings.window) + " / "
            + grew("license_checkouts_by_user_total", "", ev.settings.window), "prometheus", "ratio")
    tools = set()
    if ev.data.get("server_reachable"):
        try:
            borrows = col.sources.server.borrows(user=user)
            tools = {b["tool"] for b in borrows}
            ev.data["holder_borrow_ids"] = [b["id"] for b in borrows]
            ev.data["holder_team"] = ev.data["holder_team"] or next((b.get("team") for b in borrows), None)
        except DemoError as exc:
            ev.notes.append(str(exc))
        col.add("holder_tools", f"tools on which {user} holds seats", sorted(tools),
                f"GET /api/borrows?user={user}", "server")
    ev.data["holder_tools"] = sorted(tools)


def _deployment_facts(col: Collector) -> None:
    """The versions seen in the window, the last version change and failures before and after it."""
    ev, w = col.ev, _duration(col.ev.settings.window)
    versions = col.rows("versions_window", f"versions reporting license_server_build_info in the last {w}",
                        f"count by (version, commit) (last_over_time(license_server_build_info[{w}]))",
                        ("version", "commit"))
    current = col.rows("version_now", "version running now", "license_server_build_info",
                       ("version", "commit"))
    ev.data["versions_window"], ev.data["version_now"] = versions, current
    change = None
    if ev.data.get("server_reachable"):
        try:
            deployments = col.sources.server.call("GET", "/api/deployments").json()
            history = deployments.get("history", [])
            if history:
                last = history[-1]
                change = {"at": epoch(last.get("deployed_at")), "action": last.get("action", "deploy"),
                          "version": last.get("version"), "commit": last.get("commit"),
                          "previous": (history[-2]["version"] if len(history) > 1 else None)}
            ev.data["deployment_current"] = deployments.get("current")
        except (DemoError, ValueError) as exc:
            ev.notes.append(f"deployments unavailable: {exc}")
    if change and change["at"] and ev.at - change["at"] <= ev.settings.window:
        ev.data["change"] = change
        col.add("last_change", "last version change (GET /api/deployments)",
                f"{change['action']} {change['version']} ({change['commit']}) {ev.at - change['at']:.0f}s ago",
                "GET /api/deployments", "server")
        seconds = max(int(ev.at - change["at"]), 1)
        span = _duration(seconds)
        sel = 'reason!="exhausted"'
        ev.data["failures_after"] = col.scalar(
            "failures_after_change", f"failed borrows (not for lack of seats) in the {span} since the change",
            grew(f"license_borrow_failures_total{{{sel}}}", "", seconds))
        ev.data["failures_before"] = col.scalar(
            "failures_before_change", f"failed borrows (not for lack of seats) in the {span} before it",
            grew(f"license_borrow_failures_total{{{sel}}}", "", seconds, seconds))
        ev.data["borrows_after"] = col.scalar(
            "borrows_after_change", f"successful borrows in the {span} since the change",
            grew("license_borrow_success_total", "", seconds))
    elif len(versions) > 1:
        ev.data["change"] = {"at": None, "action": "deploy", "version": current[0]["version"] if current else None,
                             "commit": current[0]["commit"] if current else None, "previous": None}


def _alert_series_facts(col: Collector) -> None:
    """The series the alert fires on: now, its peak in the window, its average one window earlier."""
    ev, w = col.ev, _duration(col.ev.settings.window)
    alert = ev.data.get("alert")
    name = alert["labels"]["alertname"] if alert else ev.subject.alert or symptom_alert(ev.subject)
    template = ALERT_SERIES.get(name or "")
    if not template:
        return
    labels = alert["labels"] if alert else {}
    tool, user = labels.get("tool") or ev.data.get("tool"), labels.get("user") or ev.data.get("holder")
    if ("{tool}" in template and not tool) or ("{user}" in template and not user):
        return
    series = template.format(tool=tool, user=user)
    col.scalar("alert_series_now", f"{name} series now", series, default=None)
    col.scalar("alert_series_peak", f"{name} series, highest in the last {w}", f"max_over_time(({series})[{w}:])",
               default=None)
    col.scalar("alert_series_baseline", f"{name} series, average in the {w} before that",
               f"avg_over_time(({series})[{w}:] offset {w})", default=None)


def gather(sources: Sources, subject: Subject, settings: Settings, at: float | None = None) -> Evidence:
    """Collect every fact the rules need, at one instant (now by default)."""
    ev = Evidence(at=at or time.time(), settings=settings, subject=subject)
    col = Collector(sources, ev)
    _server_facts(col)
    _prometheus_facts(col)
    _alert_facts(col)
    ev.data["alert"] = _pick_alert(ev)
    ev.data["alert_name"] = ev.data["alert"]["labels"]["alertname"] if ev.data["alert"] else subject.alert
    if col.prometheus_ok:
        _tool_facts(col)
    else:
        ev.data.update(now_by_tool={}, overage_window={}, overage_baseline={}, borrows_window={})
    tool = _choose_tool(ev)
    ev.data["tool"] = tool
    if tool:
        _focus_tool_facts(col, tool)
    _holder_facts(col)
    _deployment_facts(col)
    _alert_series_facts(col)
    if sources.loki_url:
        logs.add_log_facts(col, sources.loki_url)
    return ev
