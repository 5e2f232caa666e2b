"""Log evidence from Loki (optional): how many matching lines, and a few request and trace ids to follow."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from license_demo.clients import DemoError, LokiClient
from license_demo.investigate import wording
# LogQL strings are PromQL's: a tool named `MATLAB/Simulink (R2024b) "beta"` is matched as written.
from rule_source.promql import quoted

if TYPE_CHECKING:
    from license_demo.investigate.evidence import Evidence, FactLog

SAMPLE = 5
# The most lines one query asks for; a count that reaches it is a lower bound.
LIMIT = 1000


def selector(ev: Evidence) -> str | None:
    """The LogQL query for the lines that matter to this subject, or None without a focus.

    The subject's tool (and user) come first: an overage question about one tool reads that
    tool's overage borrows even when another tool's deployment is failing. Failures after a
    change are read for the tool in focus only, or for every tool when none is in focus.
    """
    base = '{app="license-server"} | json'
    tool, user = ev.tool, ev.subject.user
    who = f" | user={quoted(user)}" if user else ""
    if tool and (ev.usage.seats(tool).overage or ev.usage.overage_window.get(tool)):
        return f'{base} | event="borrow" | tool={quoted(tool)} | overage="true"{who}'
    if ev.changes.change and ev.changes.failures_after:
        scope = f" | tool={quoted(tool)}" if tool else ""
        return f'{base} | event="borrow_rejected" | reason="server_error"{scope}{who}'
    if tool:
        return f'{base} | event="borrow" | tool={quoted(tool)}{who}'
    holder = user or ev.holder.user
    if holder:
        return f'{base} | event="borrow" | user={quoted(holder)}'
    return None


def _line(text: str) -> dict | None:
    """A JSON log line as a dict, or None for anything else."""
    try:
        line = json.loads(text)
    except ValueError:
        return None
    return line if isinstance(line, dict) else None


def add_log_facts(col: FactLog, loki_url: str) -> None:
    """Count matching lines over the window and keep a few request ids; Loki away is only a note."""
    ev = col.ev
    query = selector(ev)
    if not query:
        return
    start_ns, end_ns = int((ev.at - ev.settings.window) * 1e9), int(ev.at * 1e9)
    try:
        streams = LokiClient(loki_url).query_range(query, start_ns, end_ns, LIMIT)
        # Loki answers one stream per label set, sorted by labels; with `| json` nearly every line is
        # its own stream, so "newest" needs the entries of all streams ordered by timestamp.
        values = sorted((v for s in streams for v in s.get("values", [])), key=lambda v: int(v[0]), reverse=True)
    except (DemoError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        ev.notes.append(f"{exc}: no logs, the investigation uses metrics only")
        return
    lines = [line for v in values if (line := _line(v[1])) is not None]
    if len(values) >= LIMIT:
        ev.notes.append(f"Loki returned its limit of {LIMIT} lines: the log line count is a lower bound")
    col.add("log_lines", f"log lines matching in the last {wording.duration(ev.settings.window)}", len(lines),
            f"GET /loki/api/v1/query_range {query}", "loki")
    ids = [line.get("request_id") for line in lines if line.get("request_id")][:SAMPLE]
    col.add("log_request_ids", "request ids of the newest matching lines", ids, query, "loki")
    # Lines of a traced server carry their request's trace: the ids open those requests in Tempo.
    traces = [line["trace_id"] for line in lines if line.get("trace_id")][:SAMPLE]
    if traces:
        col.add("log_trace_ids", "trace ids of the newest matching lines (each opens its request in Tempo)",
                traces, query, "loki")
