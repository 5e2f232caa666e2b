"""License Server Operations: traffic, errors, latency, failures, log shipping, process, scrapes."""
from grafana.dashboards.panels import (ALERT_PANELS, BUSINESS_UID, OPERATIONS_UID, PROM, LOKI, LokiTarget, Logs,
                                       Stat, Table, dashboard, grid, panel_link, prom, steps, trace_url, ts)

RATE = "[$__rate_interval]"


def latency(quantile: str, ref: str) -> dict:
    """One latency percentile per route."""
    return prom(f'histogram_quantile({quantile}, sum by (le, route) '
                f'(rate(license_http_request_duration_seconds_bucket{RATE})))',
                f"p{quantile[2:].ljust(2, '0')} {{{{route}}}}", ref=ref)


panels = [
    ts("Request Rate by Route",
       [prom(f'sum by (route) (rate(license_http_requests_total{RATE}))', "{{route}}")],
       grid(0, 0, 12, 8), unit="reqps", stack=True),
    ts("Error Ratio (5xx)",
       [prom(f'sum(rate(license_http_requests_total{{status=~"5.."}}{RATE})) '
             f'/ sum(rate(license_http_requests_total{RATE}))', "5xx share"),
        prom(f'sum by (status) (rate(license_http_requests_total{{status=~"4.."}}{RATE})) '
             f'/ scalar(sum(rate(license_http_requests_total{RATE})))', "{{status}}", ref="B")],
       grid(12, 0, 12, 8), unit="percentunit", threshold=0.05,
       description="Share of requests answered 5xx (an injected borrow_errors fault shows "
                   "here), and each 4xx status (409 exhausted is a business answer)."),
    ts("Latency Percentiles by Route",
       [latency("0.5", "A"), latency("0.95", "B"), latency("0.99", "C")],
       grid(0, 8, 12, 9), unit="s", table_legend=True, calcs=["lastNotNull", "max"]),
    ts("Borrow Failures by Reason",
       [prom(f'sum by (reason) (rate(license_borrow_failures_total{{tool=~"$tool"}}{RATE}))',
             "{{reason}}")],
       grid(12, 8, 12, 9), unit="short", stack=True, axisLabel="failures / s",
       links=[panel_link("Business: Borrow Failures", BUSINESS_UID, ALERT_PANELS["borrow_failures"])]),
    ts("Lease Expiries and Force-Returns",
       [prom(f'sum by (tool) (increase(license_lease_expirations_total{{tool=~"$tool"}}{RATE}))',
             "expired {{tool}}"),
        prom(f'sum by (tool) (increase(license_force_returns_total{{tool=~"$tool"}}{RATE}))',
             "force-returned {{tool}}", ref="B")],
       grid(0, 17, 12, 8), unit="short", bars=True,
       description="Seats reclaimed after their lease ran out, and seats freed by an admin."),
    ts("Log Lines Dropped (Loki push)",
       [prom(f'sum(increase(license_log_lines_dropped_total{RATE}))', "dropped")],
       grid(12, 17, 6, 8), unit="short", threshold=1,
       description="Lines the direct Loki push (LOKI_URL) had to drop; stays 0 when Loki "
                   "keeps up or when logs are shipped from stdout instead."),
    Stat(title="Active Faults", dataSource=PROM, gridPos=grid(18, 17, 6, 8),
         description="Demo faults switched on now (GET /api/faults).",
         targets=[prom('sum by (fault, variant) (license_fault_active == 1) or vector(0)',
                       "{{fault}} {{variant}}", instant=True)],
         reduceCalc="lastNotNull", graphMode="none", colorMode="background",
         stepsJson=steps(("green", None), ("red", 1))),
    ts("Process CPU",
       [prom(f'sum by (instance) (rate(process_cpu_seconds_total{{job="license-server"}}{RATE}))',
             "{{instance}}")],
       grid(0, 25, 8, 8), unit="percentunit",
       description="CPU of the gunicorn master and all workers (1 = one core)."),
    ts("Process Memory",
       [prom('sum by (instance) (process_resident_memory_bytes{job="license-server"})',
             "{{instance}}")],
       grid(8, 25, 8, 8), unit="bytes",
       description="Resident memory of the gunicorn master and all workers."),
    ts("Scrape Health",
       [prom('up', "up {{job}}"),
        prom('scrape_duration_seconds', "scrape s {{job}}", ref="B")],
       grid(16, 25, 8, 8), unit="short", threshold=None,
       description="1 = the target answered the last scrape; and how long scrapes take."),
    ts("Frontend Errors",
       [prom(f'sum by (page, kind) (increase(license_frontend_errors_total{RATE}))',
             "{{page}} {{kind}}")],
       grid(0, 33, 8, 8), unit="short", bars=True,
       description="JavaScript errors the pages reported (POST /api/client-errors)."),
    Logs(title="Errors and Rejected Borrows (logs)", dataSource=LOKI, gridPos=grid(8, 33, 16, 8),
         targets=[LokiTarget('{app="license-server", level=~"error|critical"} | json')],
         showTime=True, wrapLogMessages=True, enableLogDetails=True),
    Table(title="Slow Borrows (traces)", dataSource=LOKI, gridPos=grid(0, 41, 24, 8),
          description="The ten slowest borrow requests of the time range, from their "
                      "http_request log lines; a trace id opens the request's trace in Tempo "
                      "(empty when the server runs without an OTLP endpoint).",
          targets=[LokiTarget('topk(10, max by (trace_id, request_id) (max_over_time('
                              '{app="license-server", event="http_request"} | json | route="/api/borrow" '
                              '| unwrap duration_ms [$__range])))', queryType="instant")],
          # One frame per series from Loki: labels become columns, then one table.
          transformations=[
              {"id": "labelsToFields", "options": {"mode": "columns"}},
              {"id": "merge", "options": {}},
              {"id": "organize", "options": {
                  "excludeByName": {"Time": True},
                  "renameByName": {"Value #A": "duration_ms"}}},
              {"id": "sortBy", "options": {"sort": [{"field": "duration_ms", "desc": True}]}}],
          overrides=[{"matcher": {"id": "byName", "options": "trace_id"}, "properties": [
              {"id": "links", "value": [{"title": "Open the trace in Tempo", "url": trace_url()}]}]}]),
]

dashboard = dashboard(
    "License Server Operations", OPERATIONS_UID, panels,
    "Traffic, errors, latency, borrow failures, lease expiries, log shipping, process and scrapes.",
    team=False)
