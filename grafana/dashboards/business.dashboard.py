"""License Business Metrics: overage, cost, who drives it, availability; the alerts link here."""
from grafana.dashboards.panels import (ALERT_PANELS, BUSINESS_UID, CAPACITY_UID, OPERATIONS_UID, OVERAGE_LOGQL,
                                       PROM, RULES, AlertList, BarGauge, Gauge, LokiTarget, LOKI, Logs, Stat, Table,
                                       dashboard, OVERAGE_LOGS_PANEL, grid, overage_logs_url, panel_link, prom,
                                       steps, ts)
from rule_source import dollars, percent

OVERAGE_RATIO = RULES.threshold("HighOverageRate")
COST_BURN = RULES.threshold("HighOverageCostBurn")
FAILURE_RATIO = RULES.threshold("BorrowFailureSpike")
HOARDING = RULES.threshold("SingleUserHoarding")

TOOL = 'tool=~"$tool"'


def window(profile: str) -> str:
    """The recording rules' rate window of `profile` in words: 30 s, 5 min."""
    seconds = RULES.window_seconds(profile)
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


LOGS_LINK = {"title": "Overage borrows of this tool in Loki", "url": overage_logs_url(),
             "targetBlank": True}

# Panel ids 2, 4, 6, 8, 10, 12 are fixed: the alert annotations open them with viewPanel.
panels = [
    Gauge(title="Overage Rate", id=ALERT_PANELS["overage_rate"], dataSource=PROM, gridPos=grid(0, 0, 6, 8),
          description="Share of successful checkouts that went into paid overage over the "
                      f"recording window ({window('demo')} demo, {window('production')} production). "
                      "The red marker is the "
                      f"HighOverageRate threshold, {percent(OVERAGE_RATIO)}.",
          targets=[prom(f'{RULES.series("HighOverageRate")}{{{TOOL}}}', "{{tool}}")],
          calc="lastNotNull", min=0, max=1, unit="percentunit", decimals=0,
          stepsJson=steps(("green", None), ("red", OVERAGE_RATIO)),
          links=[LOGS_LINK]),
    ts("Overage Checkouts Over Time",
       [prom(f'tool:license_overage_checkouts:rate{{{TOOL}}} * 60', "{{tool}}")],
       grid(6, 0, 10, 8), unit="short", bars=False, stack=True,
       description="Overage checkouts per minute, per tool.", axisLabel="checkouts / min",
       links=[LOGS_LINK]),
    Stat(title="Overage Cost (selected range)", dataSource=PROM, gridPos=grid(16, 0, 4, 4),
         targets=[prom(f'sum(increase(license_overage_cost_dollars_total{{{TOOL}}}[$__range]))',
                       instant=True)],
         format="currencyUSD", reduceCalc="lastNotNull", graphMode="none", noValue="$0",
         stepsJson=steps(("green", None), ("orange", 1000), ("red", 5000))),
    Stat(title="Overage Cost (month so far)", dataSource=PROM, gridPos=grid(20, 0, 4, 4),
         description="Overage charges since the first of this month.",
         targets=[prom(f'sum(increase(license_overage_cost_dollars_total{{{TOOL}}}[$__range]))',
                       instant=True)],
         format="currencyUSD", reduceCalc="lastNotNull", graphMode="none", noValue="$0",
         timeFrom="now/M", stepsJson=steps(("green", None), ("orange", 5000), ("red", 20000))),
    Stat(title="Server Health", id=ALERT_PANELS["server_health"], dataSource=PROM, gridPos=grid(16, 4, 4, 4),
         description="Is Prometheus reaching the license server (up)?",
         targets=[prom('min(up{job="license-server"})', instant=True)],
         reduceCalc="lastNotNull", graphMode="none", colorMode="background", noValue="no data",
         mappings=[{"type": "value", "options": {
             "0": {"text": "DOWN", "color": "red", "index": 0},
             "1": {"text": "UP", "color": "green", "index": 1}}}],
         stepsJson=steps(("red", None), ("green", 1)),
         links=[panel_link("Server operations", OPERATIONS_UID)]),
    Stat(title="Firing Alerts", dataSource=PROM, gridPos=grid(20, 4, 4, 4),
         targets=[prom('count(ALERTS{alertstate="firing"}) or vector(0)', instant=True)],
         reduceCalc="lastNotNull", graphMode="none", colorMode="background",
         stepsJson=steps(("green", None), ("red", 1))),
    ts("Overage Cost Burn Rate ($/hour)",
       [prom(f'{RULES.series("HighOverageCostBurn")}{{{TOOL}}}', "{{tool}}"),
        prom(':license_overage_cost_burn:dollars_per_hour', "all tools", ref="B")],
       grid(0, 8, 12, 8), unit="currencyUSD", panel_id=ALERT_PANELS["overage_cost"], threshold=COST_BURN,
       description="What the current overage checkouts cost per hour, per tool; the red line "
                   f"is the HighOverageCostBurn budget ({dollars(COST_BURN)}/h per tool).",
       links=[panel_link("Capacity planning: buy or pay overage?", CAPACITY_UID)]),
    BarGauge(title="Availability", id=ALERT_PANELS["availability"], dataSource=PROM, gridPos=grid(12, 8, 12, 8),
             description="Seats that can still be borrowed (commit + overage left), per tool.",
             targets=[prom(f'max by (tool) (licenses_available{{{TOOL}}})', "{{tool}}",
                           instant=True)],
             calc="lastNotNull", displayMode="gradient", orientation="horizontal", min=0,
             max=30, format="short", label="${__series.name}",
             stepsJson=steps(("red", None), ("orange", 1), ("green", 3))),
    Table(title="License Checkouts by User", id=ALERT_PANELS["checkouts_by_user"], dataSource=PROM,
          gridPos=grid(0, 16, 12, 9),
          description="Checkouts in the selected range and seats held now, per user and team. "
                      f"Seats held turn red at the SingleUserHoarding threshold ({HOARDING:g}; "
                      "the alert fires above it).",
          targets=[
              prom(f'sort_desc(sum by (user, team) (increase(license_checkouts_by_user_total'
                   f'{{{TOOL}, team=~"$team"}}[$__range])))', instant=True, table=True),
              prom('sum by (user, team) (licenses_held_by_user{team=~"$team"})', ref="B",
                   instant=True, table=True)],
          transformations=[
              {"id": "merge", "options": {}},
              {"id": "organize", "options": {
                  "excludeByName": {"Time": True},
                  "renameByName": {"Value #A": "Checkouts (range)",
                                   "Value #B": "Seats held now"}}},
              {"id": "sortBy", "options": {"sort": [{"field": "Checkouts (range)",
                                                      "desc": True}]}}],
          unit="none", links=[LOGS_LINK],
          overrides=[{"matcher": {"id": "byName", "options": "Seats held now"},
                      "properties": [
                          {"id": "thresholds",
                           "value": steps(("green", None), ("red", HOARDING))},
                          {"id": "custom.cellOptions", "value": {"type": "color-background"}}]}]),
    ts("Commit vs Overage Seats in Use",
       [prom(f'max by (tool) (licenses_in_use{{{TOOL}}}) - max by (tool) '
             f'(licenses_overage{{{TOOL}}})', "{{tool}} commit"),
        prom(f'max by (tool) (licenses_overage{{{TOOL}}})', "{{tool}} overage", ref="B")],
       grid(12, 16, 12, 9), unit="short", stack=True,
       description="Seats held now: within the prepaid commit, and paid overage seats."),
    ts("Borrow Failures",
       [prom(f'{RULES.series("BorrowFailureSpike")}{{{TOOL}}}', "{{tool}} {{reason}}")],
       grid(0, 25, 12, 8), unit="percentunit", panel_id=ALERT_PANELS["borrow_failures"], threshold=FAILURE_RATIO,
       description="Failed borrows over all attempts, per tool and reason (exhausted, "
                   "server_error, ...). BorrowFailureSpike fires above "
                   f"{percent(FAILURE_RATIO)} (reasons other than exhausted).",
       links=[panel_link("Server operations", OPERATIONS_UID)]),
    AlertList(title="Alert Status", datasource_name="Prometheus", gridPos=grid(12, 25, 12, 8),
              description="Firing and pending alerts of the Prometheus rules.", limit=20),
    Logs(title="Overage Borrows (logs)", id=OVERAGE_LOGS_PANEL, dataSource=LOKI, gridPos=grid(0, 33, 16, 10),
         description="Every borrow that went into overage for the selected tool: user, team, "
                     "cost, request_id (click it for all lines of that request).",
         targets=[LokiTarget(OVERAGE_LOGQL)], showTime=True, wrapLogMessages=True,
         enableLogDetails=True, sortOrder="Descending"),
    BarGauge(title="Overage Borrows by User (logs)", dataSource=LOKI,
             gridPos=grid(16, 33, 8, 10),
             description="Who and which team borrowed in overage during the selected range.",
             targets=[LokiTarget(
                 'sum by (user, team) (count_over_time({app="license-server", event="borrow"} '
                 '| json | tool=~"$tool" | overage="true" | __error__="" [$__range]))',
                 legendFormat="{{user}} ({{team}})", queryType="instant")],
             calc="lastNotNull", displayMode="basic", orientation="horizontal", min=0,
             max=None, format="short", label="${__series.name}",
             stepsJson=steps(("blue", None))),
    ts("Overage Share Over Time (before and after a change)",
       [prom(f'{RULES.series("HighOverageRate")}{{{TOOL}}}', "{{tool}} overage checkouts"),
        prom(f'tool:license_overage_seats:ratio{{{TOOL}}}', "{{tool}} overage seats held",
             ref="B")],
       grid(0, 43, 24, 8), unit="percentunit", threshold=OVERAGE_RATIO,
       description="Share of checkouts, and of seats held, that are overage, with the "
                   f"HighOverageRate threshold ({percent(OVERAGE_RATIO)}) as the red line. The "
                   "orange markers are config changes (commit, overage, price): the share "
                   "before and after a marker shows what the change did."),
]

dashboard = dashboard(
    "License Business Metrics", BUSINESS_UID, panels,
    "Overage rate and cost, who drives them, availability, alerts and the overage borrow logs.")
