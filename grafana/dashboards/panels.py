"""Shared pieces of the dashboards: datasources, variables, targets and panels in today's JSON shape.

grafanalib 0.7.1 still writes some panels the way Grafana 7 stored them (gauge calcs under
fieldConfig, threshold base value "null", the old alert-list fields) and has no Loki target.
The helpers here emit what Grafana 10/11 saves itself, so a provisioned dashboard is never
migrated (or misread) on load.
"""
from __future__ import annotations

import json
import urllib.parse

import attr
from grafanalib import core as g

import rule_source

# The rule source the dashboards draw from: thresholds, series, windows, linked panel ids.
RULES = rule_source.load()

PROMETHEUS_UID = "prometheus"
LOKI_UID = "loki"
TEMPO_UID = "tempo"
PROM = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
LOKI = {"type": "loki", "uid": "${DS_LOKI}"}
TAGS = ["license-server"]
# The business dashboard's uid and the ids of its panels the alert links open: the rule source's.
BUSINESS_UID = RULES.values["dashboard_uid"]
ALERT_PANELS: dict[str, int] = RULES.values["panels"]
OPERATIONS_UID = "license-server-operations"
CAPACITY_UID = "license-capacity-planning"
# The presenter's query (docs/contracts.md, alert `logs` links): overage borrows of one tool.
OVERAGE_LOGQL = '{app="license-server", event="borrow"} | json | tool=~"$tool" | overage="true"'


def prom(expr: str, legend: str = "", ref: str = "A", instant: bool = False,
         table: bool = False, interval: str = "") -> dict:
    """A Prometheus query in the shape Grafana's code editor saves."""
    target = {"datasource": PROM, "editorMode": "code", "expr": expr, "legendFormat": legend,
              "range": not instant, "instant": instant, "refId": ref,
              "format": "table" if table else "time_series"}
    if interval:
        target["interval"] = interval
    return target


@attr.s
class LokiTarget:
    """A LogQL query (grafanalib has no Loki target class)."""

    expr = attr.ib()
    refId = attr.ib(default="A")
    legendFormat = attr.ib(default="")
    queryType = attr.ib(default="range")

    def to_json_data(self) -> dict:
        """The target as Grafana's Loki editor saves it."""
        return {"datasource": LOKI, "editorMode": "code", "expr": self.expr,
                "legendFormat": self.legendFormat, "queryType": self.queryType,
                "refId": self.refId}


def steps(*pairs) -> dict:
    """Absolute thresholds from (color, value) pairs; the first one is the base (value null)."""
    out = [{"color": pairs[0][0], "value": None}]
    out += [{"color": color, "value": value} for color, value in pairs[1:]]
    return {"mode": "absolute", "steps": out}


def grid(x: int, y: int, w: int, h: int) -> g.GridPos:
    """A panel position on the 24-column grid."""
    return g.GridPos(h=h, w=w, x=x, y=y)


def _defaults(panel: dict) -> dict:
    """The panel's fieldConfig.defaults, created when missing."""
    return panel.setdefault("fieldConfig", {}).setdefault("defaults", {})


@attr.s
class Gauge(g.GaugePanel):
    """A gauge with reduceOptions under options and real threshold steps."""

    stepsJson = attr.ib(factory=lambda: steps(("green", None)))
    unit = attr.ib(default="none")

    def to_json_data(self) -> dict:
        """The modern gauge JSON."""
        panel = g.GaugePanel.to_json_data(self)
        panel["fieldConfig"] = {"defaults": {
            "decimals": self.decimals, "max": self.max, "min": self.min, "unit": self.unit,
            "links": self.dataLinks, "mappings": self.valueMaps, "thresholds": self.stepsJson,
            "color": {"mode": "thresholds"}}, "overrides": []}
        panel["options"] = {
            "reduceOptions": {"calcs": [self.calc], "fields": "", "values": self.allValues},
            "orientation": "auto", "showThresholdLabels": self.thresholdLabels,
            "showThresholdMarkers": self.thresholdMarkers,
            # What Grafana 11 fills in from the gauge's plugin defaults when it saves.
            "minVizHeight": 75, "minVizWidth": 75, "sizing": "auto"}
        return panel


@attr.s
class Stat(g.Stat):
    """A stat panel with threshold steps and a color mode Grafana understands."""

    stepsJson = attr.ib(factory=lambda: steps(("green", None)))

    def to_json_data(self) -> dict:
        """The stat JSON with fixed thresholds."""
        panel = g.Stat.to_json_data(self)
        defaults = _defaults(panel)
        defaults["thresholds"] = self.stepsJson
        defaults["color"] = {"mode": "thresholds"}
        # Grafana 11's stat defaults (percent change is new in 11; off here).
        panel["options"].update({"percentChangeColorMode": "standard",
                                 "showPercentChange": False, "wideLayout": True})
        return panel


@attr.s
class BarGauge(g.BarGauge):
    """A bar gauge with options.reduceOptions instead of the Grafana 6 fieldOptions."""

    stepsJson = attr.ib(factory=lambda: steps(("green", None)))

    def to_json_data(self) -> dict:
        """The modern bar gauge JSON."""
        panel = g.BarGauge.to_json_data(self)
        panel["fieldConfig"] = {"defaults": {
            "decimals": self.decimals, "max": self.max, "min": self.min, "unit": self.format,
            "displayName": self.label, "links": self.dataLinks, "mappings": self.valueMaps,
            "thresholds": self.stepsJson, "color": {"mode": "thresholds"}}, "overrides": []}
        panel["options"] = {
            "reduceOptions": {"calcs": [self.calc], "fields": "", "values": self.allValues},
            "displayMode": self.displayMode, "orientation": self.orientation,
            "showUnfilled": True, "valueMode": "color", "namePlacement": "auto",
            "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8, "maxVizHeight": 300}
        return panel


@attr.s
class TimeSeries(g.TimeSeries):
    """A time series whose thresholds are real steps (base null)."""

    stepsJson = attr.ib(factory=lambda: steps(("green", None)))

    def to_json_data(self) -> dict:
        """The time series JSON with fixed thresholds."""
        panel = g.TimeSeries.to_json_data(self)
        _defaults(panel)["thresholds"] = self.stepsJson
        panel["options"]["legend"]["showLegend"] = True
        return panel


@attr.s
class Table(g.Table):
    """A table whose thresholds are real steps and without the Grafana 6 leftovers."""

    stepsJson = attr.ib(factory=lambda: steps(("green", None)))

    def to_json_data(self) -> dict:
        """The modern table JSON."""
        panel = g.Table.to_json_data(self)
        for legacy in ("columns", "fontSize", "color", "mappings", "styles"):
            panel.pop(legacy, None)
        defaults = _defaults(panel)
        defaults["thresholds"] = self.stepsJson
        defaults["custom"].pop("displayMode", None)  # Grafana 9's name of cellOptions.type
        defaults["custom"].update({"cellOptions": {"type": "auto"}, "inspect": False})
        panel["options"].update({"cellHeight": "sm", "frameIndex": 0})
        return panel


@attr.s
class Logs(g.Logs):
    """A logs panel without the metric-panel threshold block."""

    def to_json_data(self) -> dict:
        """The logs panel JSON."""
        panel = g.Logs.to_json_data(self)
        panel["fieldConfig"] = {"defaults": {}, "overrides": []}
        panel["options"]["showLogContextToggle"] = False
        return panel


@attr.s
class AlertList(g.AlertList):
    """The unified-alerting alert list (Grafana 9+): Prometheus-managed alerts, filtered."""

    datasource_name = attr.ib(default="Prometheus")
    label_filter = attr.ib(default="")

    def to_json_data(self) -> dict:
        """The alertlist JSON with the options Grafana 10/11 reads."""
        return {
            "type": "alertlist", "id": self.id, "title": self.title, "gridPos": self.gridPos,
            "description": self.description, "transparent": self.transparent,
            "links": self.links,
            "options": {
                "viewMode": "list", "groupMode": "default", "groupBy": [],
                "maxItems": self.limit, "sortOrder": self.sortOrder,
                "dashboardAlerts": False, "alertName": self.alertName,
                "alertInstanceLabelFilter": self.label_filter,
                "datasource": self.datasource_name, "folder": None, "showInstances": True,
                "stateFilter": {"firing": True, "pending": True, "noData": False,
                                "normal": False, "error": True},
            },
        }


def ts(title: str, targets: list, pos: g.GridPos, unit: str = "short", panel_id=None,
       description: str = "", stack: bool = False, bars: bool = False, links=None,
       threshold: float | None = None, **extra) -> TimeSeries:
    """A time series panel on the Prometheus datasource."""
    kwargs = {}
    if threshold is not None:
        kwargs = {"stepsJson": steps(("green", None), ("red", threshold)),
                  "thresholdsStyleMode": "line"}
    return TimeSeries(title=title, dataSource=PROM, targets=targets, gridPos=pos, unit=unit,
                      id=panel_id, description=description, links=links or [],
                      stacking={"mode": "normal", "group": "A"} if stack else {},
                      drawStyle="bars" if bars else "line", fillOpacity=80 if bars else 10,
                      legendDisplayMode="table" if extra.pop("table_legend", False) else "list",
                      legendCalcs=extra.pop("calcs", []), **kwargs, **extra)


def variables(team: bool = True) -> g.Templating:
    """Datasource pickers (provisioned uids as defaults), then tool and team."""
    items = [
        g.Template(name="DS_PROMETHEUS", label="Prometheus", type="datasource",
                   query="prometheus", default=PROMETHEUS_UID, hide=0),
        g.Template(name="DS_LOKI", label="Loki", type="datasource", query="loki",
                   default=LOKI_UID, hide=0),
        g.Template(name="tool", label="Tool", dataSource=PROM,
                   query="label_values(licenses_commit, tool)", includeAll=True, multi=True,
                   allValue=".*", default="$__all", refresh=g.REFRESH_ON_TIME_RANGE_CHANGE),
    ]
    if team:
        items.append(g.Template(name="team", label="Team", dataSource=PROM,
                                query="label_values(license_checkouts_by_user_total, team)",
                                includeAll=True, multi=True, allValue=".*", default="$__all",
                                refresh=g.REFRESH_ON_TIME_RANGE_CHANGE))
    # Datasource variables point at the provisioned uids; the current value is an object.
    for item in items:
        if item.type == "datasource":
            item._current = {"selected": True, "text": item.default, "value": item.default}
        else:
            item._current = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return g.Templating(list=items)


LEGACY_PANEL_KEYS = ("height", "span", "minSpan", "error", "cacheTimeout", "repeat",
                     "repeatDirection", "maxPerRow", "hideTimeOverride")
# Per-panel `editable` is gone since Grafana 7: the dashboard's `editable` decides.
ALWAYS_DROPPED_PANEL_KEYS = ("editable",)
LEGACY_DASHBOARD_KEYS = ("rows", "style", "sharedCrosshair", "hideControls", "gnetId", "id",
                         "__inputs")
# Keys of Grafana's old variable editor (interval auto-step, tag queries) that current Grafana
# neither reads nor saves for query and datasource variables.
LEGACY_VARIABLE_KEYS = ("auto", "auto_count", "auto_min", "useTags", "tagsQuery",
                        "tagValuesQuery", "tags")


def _drop_nulls(value, key: str = ""):
    """Remove every null-valued key: Grafana omits unset options when it saves a dashboard.

    A threshold step keeps `"value": null`, the base step's own way of saying "from -inf".
    """
    if isinstance(value, dict):
        return {k: _drop_nulls(v, k) for k, v in value.items()
                if v is not None or (key == "steps" and k == "value")}
    if isinstance(value, list):
        return [_drop_nulls(v, key) for v in value]
    return value


def to_json(dash: g.Dashboard) -> dict:
    """The dashboard as Grafana 11 stores it (grafanalib's pre-panel-era keys removed)."""
    data = json.loads(json.dumps(dash.to_json_data(), cls=_Encoder))
    for key in LEGACY_DASHBOARD_KEYS:
        data.pop(key, None)
    for panel in data["panels"]:
        # Grafana 4-era row layout keys, always empty here.
        for key in LEGACY_PANEL_KEYS:
            if not panel.get(key):
                panel.pop(key, None)
        for key in ALWAYS_DROPPED_PANEL_KEYS:
            panel.pop(key, None)
    for variable in data["templating"]["list"]:
        for key in LEGACY_VARIABLE_KEYS:
            variable.pop(key, None)
    # time_options was the Grafana 6 quick-range list; nowDelay is unset.
    data["timepicker"] = {"refresh_intervals": data["timepicker"]["refresh_intervals"]}
    return _drop_nulls(data)


class _Encoder(json.JSONEncoder):
    """Serialise grafanalib objects through their to_json_data()."""

    def default(self, obj):
        """Delegate to to_json_data when the object has one."""
        if hasattr(obj, "to_json_data"):
            return obj.to_json_data()
        return super().default(obj)


# The business dashboard's "Overage Borrows (logs)" panel: the logs links open it.
OVERAGE_LOGS_PANEL = 13


def overage_logs_url() -> str:
    """The business dashboard's overage logs panel for the chosen tools and time range.

    `${tool:queryparam}` is Grafana's URL-encoded `var-tool=...` per chosen tool, so any tool
    name survives the trip (dots, brackets, quotes, slashes); the panel's LogQL then gets the
    Loki datasource's own escaping of `$tool`, and its menu opens the query in Explore. An
    Explore URL built here could not carry a tool name with `.` or `(`: Grafana's regex format
    writes `\\.` into the pane's JSON, which is no JSON escape, and Explore drops the query.
    """
    return (f"/d/{BUSINESS_UID}?orgId=1&viewPanel={OVERAGE_LOGS_PANEL}"
            "&${__url_time_range}&${tool:queryparam}")


def dashboard_links() -> list:
    """Links shown on every dashboard: the other dashboards and the overage logs of the tool."""
    return [
        g.DashboardLink(title="License dashboards", type="dashboards", tags=TAGS,
                        asDropdown=False, includeVars=True, keepTime=True),
        g.DashboardLink(title="Overage borrows in Loki (chosen tool)", type="link",
                        icon="doc", uri=overage_logs_url(), keepTime=False,
                        targetBlank=True, tooltip="The presenter's LogQL for the chosen tools; its panel menu opens Explore"),
    ]


def trace_url(value: str = "${__value.raw}") -> str:
    """Explore on the Tempo datasource showing the trace whose id is `value`, in the dashboard's
    time range (a data link: Grafana fills in the variables, hex ids need no escaping)."""
    pane = {"trace": {"datasource": TEMPO_UID, "queries": [
        {"refId": "A", "datasource": {"type": "tempo", "uid": TEMPO_UID}, "queryType": "traceql",
         "query": "TRACE_ID"}], "range": {"from": "RANGE_FROM", "to": "RANGE_TO"}}}
    encoded = urllib.parse.quote(json.dumps(pane, separators=(",", ":")), safe="")
    return ("/explore?schemaVersion=1&orgId=1&panes=" + encoded.replace("TRACE_ID", value)
            .replace("RANGE_FROM", "${__from}").replace("RANGE_TO", "${__to}"))


def panel_link(title: str, uid: str, panel_id: int | None = None) -> dict:
    """A panel link to another dashboard (or one of its panels), keeping time and tool."""
    url = f"/d/{uid}?${{__url_time_range}}&${{tool:queryparam}}"
    if panel_id is not None:
        url += f"&viewPanel={panel_id}"
    return {"title": title, "url": url, "targetBlank": False}


def annotations() -> g.Annotations:
    """Config changes, deployments and demo acts, all read from the server's metrics."""
    def prom_annotation(name, expr, title, color, tags, use_value_for_time, step="60s"):
        return {"name": name, "datasource": PROM, "enable": True, "iconColor": color,
                "expr": expr, "step": step, "titleFormat": title, "textFormat": "",
                "tagKeys": tags, "useValueForTime": use_value_for_time, "hide": False}
    return g.Annotations(list=[
        {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
         "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
         "name": "Annotations & Alerts", "type": "dashboard"},
        # The gauge holds the Unix time of the latest change: as the annotation's time it marks
        # each change exactly, whatever the step (Grafana wants milliseconds).
        prom_annotation("Config changes",
                        'license_config_last_change_timestamp_seconds{tool=~"$tool"} * 1000 > 0',
                        "Config change: {{tool}}", "orange", "tool", True),
        # A version/commit pair that was absent a minute ago has just been deployed.
        prom_annotation("Deployments",
                        "max by (version, commit) (license_server_build_info) unless "
                        "max by (version, commit) (license_server_build_info offset 1m)",
                        "Deployed {{version}} ({{commit}})", "purple", "version,commit", False),
        prom_annotation("Demo acts",
                        "license_demo_act_timestamp_seconds * 1000 > 0",
                        "{{journey}}: {{act}}", "blue", "journey,act", True),
    ])


def budget(panels: list, max_points: int, min_interval: str) -> list:
    """Give every panel with a range query the data-point budget and minimum step of its dashboard.

    grafanalib's default of 100 points samples a 30-day range every 7.2 h. `min_interval` is
    the scrape interval (a finer step only repeats samples); a panel may set its own. Panels
    with instant queries only get no budget: Grafana ignores it for them.
    """
    for panel in panels:
        targets = [t.to_json_data() if hasattr(t, "to_json_data") else t
                   for t in getattr(panel, "targets", [])]
        if any(t.get("range", t.get("queryType") == "range") for t in targets):
            panel.maxDataPoints = max_points
            panel.interval = panel.interval or min_interval
        else:
            panel.maxDataPoints = None
            panel.interval = None
    return panels


def dashboard(title: str, uid: str, panels: list, description: str, time_from: str = "now-1h",
              refresh: str = "10s", team: bool = True, max_points: int = 720,
              min_interval: str = "5s") -> g.Dashboard:
    """A dashboard with the shared variables, links, annotations and tags.

    The default budget suits the one-hour dashboards: 720 points are one per 5 s scrape.
    """
    panels = budget(panels, max_points, min_interval)
    return g.Dashboard(
        title=title, uid=uid, description=description, tags=TAGS, panels=panels,
        templating=variables(team), links=dashboard_links(), annotations=annotations(),
        time=g.Time(time_from, "now"), refresh=refresh, timezone="browser",
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR, schemaVersion=39,
        editable=True,
    ).auto_panel_ids()
