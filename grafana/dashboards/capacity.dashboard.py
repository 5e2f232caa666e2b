"""Capacity Planning: 30-day utilization, peaks by hour and weekday, cost trend, buy or pay overage.

Reads the raw gauges and counters (not recorded series), so backfilled history
(`license-demo journey capacity-planning`) shows as well as live data. Gauges come from the
shared database, so several replicas report the same value: `max by (tool)`, never `sum`.
"""
from grafana.dashboards.panels import (ALERT_PANELS, BUSINESS_UID, CAPACITY_UID, PROM, BarGauge, Stat, Table,
                                       dashboard, grid, panel_link, prom, steps, ts)

TOOL = 'tool=~"$tool"'
IN_USE = f'sum(max by (tool) (licenses_in_use{{{TOOL}}}))'
COST = f'license_overage_cost_dollars_total{{{TOOL}}}'
# Seconds left in the current month (UTC), for the month-end projection.
MONTH_LEFT = ("((scalar(days_in_month()) - scalar(day_of_month()) + 1) * 86400 "
              "- scalar(hour()) * 3600 - scalar(minute()) * 60)")
# The highest sample within each step, so a short peak survives a 30-minute step.
PEAK_IN_USE = f'max by (tool) (max_over_time(licenses_in_use{{{TOOL}}}[$__interval]))'
WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


def peak_by(function: str, value: int, legend: str, ref: str) -> dict:
    """Peak seats in use over the range, counting only the samples whose `function()` is `value`."""
    return prom(f'max_over_time(({IN_USE} and on () {function}() == {value})[$__range:1m])',
                legend, ref=ref, instant=True)


def refs():
    """refIds A, B, ... Z, AA, AB, ..."""
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    return letters + [f"A{c}" for c in letters]


panels = [
    ts("Seat Utilization (30 days)",
       [prom(f'{PEAK_IN_USE} / (max by (tool) '
             f'(licenses_commit{{{TOOL}}} + licenses_max_overage{{{TOOL}}}) > 0)',
             "{{tool}} of all seats"),
        prom(f'{PEAK_IN_USE} / (max by (tool) '
             f'(licenses_commit{{{TOOL}}}) > 0)', "{{tool}} of commit", ref="B")],
       grid(0, 0, 24, 8), unit="percentunit", threshold=1,
       description="Peak seats in use per step over all seats the tool can lend, and over "
                   "the prepaid commit (above 100 % means overage)."),
    BarGauge(title="Peak Concurrent Seats by Hour of Day (UTC)", dataSource=PROM,
             gridPos=grid(0, 8, 16, 8),
             targets=[peak_by("hour", h, f"{h:02d}", refs()[h]) for h in range(24)],
             calc="lastNotNull", displayMode="basic", orientation="vertical", min=0, max=None,
             format="short", label="${__series.name}", stepsJson=steps(("blue", None))),
    BarGauge(title="Peak Concurrent Seats by Weekday", dataSource=PROM,
             gridPos=grid(16, 8, 8, 8),
             targets=[peak_by("day_of_week", d, name, refs()[d])
                      for d, name in enumerate(WEEKDAYS)],
             calc="lastNotNull", displayMode="basic", orientation="vertical", min=0, max=None,
             format="short", label="${__series.name}", stepsJson=steps(("blue", None))),
    ts("Overage Cost Trend (rolling 24 h)",
       [prom(f'sum by (tool) (increase({COST}[1d]))', "{{tool}}"),
        prom(f'sum(increase({COST}[1d]))', "all selected tools", ref="B")],
       grid(0, 16, 16, 8), unit="currencyUSD",
       links=[panel_link("Business: Overage Cost", BUSINESS_UID, ALERT_PANELS["overage_cost"])]),
    Stat(title="Overage Cost: Month So Far", dataSource=PROM, gridPos=grid(16, 16, 4, 8),
         targets=[prom(f'sum(increase({COST}[$__range]))', instant=True)], timeFrom="now/M",
         format="currencyUSD", reduceCalc="lastNotNull", graphMode="none", noValue="$0"),
    Stat(title="Projected Month Total", dataSource=PROM, gridPos=grid(20, 16, 4, 8),
         description="Month so far plus the last 7 days' average burn for the rest of the "
                     "month (a linear projection).",
         targets=[prom(f'sum(increase({COST}[$__range])) + sum(rate({COST}[7d])) * {MONTH_LEFT}',
                       instant=True)], timeFrom="now/M",
         format="currencyUSD", reduceCalc="lastNotNull", graphMode="none", noValue="$0",
         stepsJson=steps(("green", None), ("orange", 5000), ("red", 20000))),
    Table(title="Buy vs Pay Overage (last 30 days, per tool)", dataSource=PROM,
          gridPos=grid(0, 24, 24, 9),
          description="Overage spend of the last 30 days against the seats that would absorb "
                      "it. Break-even price: buying the peak overage seats as commit seats is "
                      "cheaper than paying overage when a commit seat costs less than this per "
                      "month. The last columns put the live commit price next to it: a positive "
                      "saving means buying the peak overage seats as commit is cheaper.",
          targets=[
              prom(f'sum by (tool) (increase({COST}[30d]))', ref="A", instant=True, table=True),
              prom(f'max by (tool) (max_over_time(licenses_overage{{{TOOL}}}[30d]))', ref="B",
                   instant=True, table=True),
              prom(f'max by (tool) (avg_over_time(licenses_overage{{{TOOL}}}[30d]))', ref="C",
                   instant=True, table=True),
              prom(f'sum by (tool) (increase({COST}[30d])) / (max by (tool) '
                   f'(max_over_time(licenses_overage{{{TOOL}}}[30d])) > 0)', ref="D",
                   instant=True, table=True),
              prom(f'max by (tool) (licenses_commit_cost_monthly_dollars{{{TOOL}}})', ref="E",
                   instant=True, table=True),
              prom(f'sum by (tool) (increase({COST}[30d])) - max by (tool) '
                   f'(max_over_time(licenses_overage{{{TOOL}}}[30d])) * on (tool) '
                   f'max by (tool) (licenses_commit_cost_monthly_dollars{{{TOOL}}})', ref="F",
                   instant=True, table=True)],
          transformations=[
              {"id": "merge", "options": {}},
              {"id": "organize", "options": {
                  "excludeByName": {"Time": True},
                  "renameByName": {"Value #A": "Overage spend (30 d)",
                                   "Value #B": "Peak overage seats",
                                   "Value #C": "Average overage seats",
                                   "Value #D": "Break-even $ per commit seat / month",
                                   "Value #E": "Commit seat price / month",
                                   "Value #F": "Saving / month buying the peak"}}}],
          overrides=[{"matcher": {"id": "byRegexp",
                                  "options": "Overage spend.*|Break-even.*|Commit seat.*|Saving.*"},
                      "properties": [{"id": "unit", "value": "currencyUSD"}]}],
          unit="none"),
]

dashboard = dashboard(
    "Capacity Planning", CAPACITY_UID, panels,
    "30-day utilization, peak seats by hour and weekday, overage cost trend and projection, "
    "buy commit seats or keep paying overage.", time_from="now-30d", refresh="1m", team=False,
    # 30 days in 1440 steps of 30 min; the backfilled history has one sample a minute.
    max_points=1440, min_interval="1m")
