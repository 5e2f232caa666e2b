"""The MCP server over a running stack: the investigator's evidence and actions as tools.

Every tool is a thin face over `evidence_view` (the investigator's gatherers, facts, run and
remediation) and `license_demo.clients`; answers go through `answers.answer` (a one-line summary
and bounded JSON). Bad input raises `ToolError` with what to send instead; the server goes on.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resources import TextResource
from mcp.types import CallToolResult, ToolAnnotations

from license_demo.agents import evidence_view, runbooks
from license_demo.agents.answers import MAX_ANSWER_CHARS, answer
from license_demo.clients import DemoError, LokiClient, ServerClient
from rule_source.promql import quoted

WINDOW_MIN, WINDOW_MAX, DEFAULT_WINDOW = 30, 86_400, 600
MAX_LINES, MAX_QUERY_CHARS, MAX_RANGE_SECONDS, MAX_VERIFY = 50, 1000, 86_400, 180
# Names of tools, users and teams as the server accepts them: no quotes, braces, backslashes or controls.
SAFE_NAME = re.compile(r"^[\w .,:/()+@-]{1,120}$")
INCIDENT_ID = re.compile(r"^INC-\d{1,9}$")
DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)

INSTRUCTIONS = """The license-server demo stack: tools lent to engineers with a prepaid commit and billed overage.
Method: alerts (what fires) -> seat_usage and borrowers of the tool in question -> overage_logs ->
changes -> investigate (the built-in investigator's ranked hypotheses and proposed actions).
Names: call catalog for the exact tool names. Writes (apply_action, add_note) need the server
started with --allow-write and an approver's name; each lands on the incident timeline and the audit log."""


def _iso(epoch: float | None) -> str | None:
    """Epoch seconds as the wire's UTC timestamp."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if epoch else None


def check_window(window_seconds: int) -> int:
    """A window within bounds, else a tool error naming the range."""
    if not isinstance(window_seconds, int) or not WINDOW_MIN <= window_seconds <= WINDOW_MAX:
        raise ToolError(f"window_seconds={window_seconds!r} is out of range: send a whole number of seconds from "
                        f"{WINDOW_MIN} to {WINDOW_MAX} (a day), e.g. 600 for the last ten minutes")
    return window_seconds


def _words(seconds: int) -> str:
    """600 -> '10 min'."""
    return f"{seconds // 60} min" if seconds % 60 == 0 and seconds < 7200 else f"{seconds / 3600:g} h" \
        if seconds >= 7200 else f"{seconds} s"


class LicenseDemoMCP:
    """The tools, resources and prompt over one stack; `server` is the MCP server to run."""

    def __init__(self, cfg: evidence_view.StackConfig, allow_write: bool = False,
                 runbooks_file: Path | None = None):
        """Serve `cfg`'s stack; writes only with `allow_write`."""
        self.cfg, self.allow_write = cfg, allow_write
        self.server = _Server("license-demo", instructions=INSTRUCTIONS, version="1.0.0", log_level="WARNING")
        for fn in (self.catalog, self.alerts, self.seat_usage, self.borrowers, self.overage_logs, self.changes,
                   self.incidents, self.investigate, self.promql):
            self.server.add_tool(fn, annotations=READ_ONLY, structured_output=False)
        for fn in (self.apply_action, self.add_note):
            self.server.add_tool(fn, annotations=WRITE, structured_output=False)
        for section in runbooks.sections(runbooks_file):
            self.server.add_resource(TextResource(uri=f"runbook://{section.alert}", name=f"runbook-{section.alert}",
                                                  title=f"Runbook: {section.alert}", mime_type="text/markdown",
                                                  description=section.first_line, text=section.text))
        self.server.prompt(name="investigate_alert", title="Investigate this alert")(investigate_alert_prompt)

    # --- names -------------------------------------------------------------------------------------

    def _tool_name(self, tool: str) -> str:
        """The exact name of the license tool `tool` names (case-insensitive), else a tool error listing them."""
        tools, _, _ = evidence_view.known_names(self.cfg)
        if not tools:
            raise ToolError("no license tools known: neither the server nor Prometheus answers; check that "
                            "the stack runs (license-demo stack) and call catalog again")
        exact = [t for t in tools if t.lower() == (tool or "").strip().lower()]
        if exact and SAFE_NAME.match(tool.strip()):
            return exact[0]
        why = ("holds quotes, braces, backslashes or control characters, which no tool name has"
               if tool and not SAFE_NAME.match(tool) else "is not a tool of this server")
        raise ToolError(f"tool {tool!r} {why}: send one of these names exactly: {'; '.join(tools)}")

    def _user_name(self, user: str) -> str:
        """A user name the metrics know, else a tool error."""
        if not SAFE_NAME.match(user or ""):
            raise ToolError(f"user {user!r} holds characters no user name has: send a login name such as "
                            "'lena' (borrowers lists the users of a tool)")
        _, users, _ = evidence_view.known_names(self.cfg)
        if user not in users:
            raise ToolError(f"no user {user!r} in the metrics: send one of "
                            f"{', '.join(users[:30])}{' …' if len(users) > 30 else ''}")
        return user

    def _incident(self, incident_id: str) -> dict:
        """One incident from the server, else a tool error saying which ids exist."""
        if not INCIDENT_ID.match(incident_id or ""):
            raise ToolError(f"incident_id {incident_id!r} is not an incident id: send one like INC-0001 "
                            "(incidents lists them)")
        response = self._server().call("GET", f"/api/incidents/{quote(incident_id, safe='')}", expect_error=True)
        if response.status_code == 404:
            raise ToolError(f"no incident {incident_id}: call incidents to list the ids")
        if response.status_code >= 400:
            raise ToolError(f"the server answered {response.status_code} for {incident_id}: {response.text[:200]}")
        return response.json()

    def _server(self) -> ServerClient:
        """The license server's client."""
        return ServerClient(self.cfg.server_url, self.cfg.admin_token)

    def _gather(self, window_seconds: int, **subject) -> evidence_view.Gathered:
        """Facts for a subject; the stack being away is a tool error naming what to check."""
        try:
            return evidence_view.gather_facts(self.cfg, check_window(window_seconds), **subject)
        except DemoError as exc:
            raise ToolError(f"{exc}; check the stack (license-demo stack) and retry") from exc

    # --- read-only tools ---------------------------------------------------------------------------

    def catalog(self) -> CallToolResult:
        """The license tools this server lends, with commit, overage allowance, seats in use and prices now."""
        try:
            tools = self._server().tools()
        except DemoError as exc:
            raise ToolError(f"{exc}; check the stack (license-demo stack) and retry") from exc
        rows = [{k: t.get(k) for k in ("name", "commit", "max_overage", "in_use", "overage_in_use", "available",
                                       "overage_cost", "commit_cost_monthly")} for t in tools]
        return answer(f"{len(rows)} tools: " + ", ".join(r["name"] for r in rows), {"tools": rows})

    def alerts(self, window_seconds: int = DEFAULT_WINDOW) -> CallToolResult:
        """Alerts firing now and those that fired in the last window_seconds (30..86400) and are resolved."""
        g = self._gather(window_seconds)
        firing, resolved = g.value("alerts_firing", []), g.value("alerts_resolved_window", [])
        names = ", ".join(f"{a['alertname']}{' on ' + (a['tool'] or a['user']) if a['tool'] or a['user'] else ''}"
                          for a in firing) or "none"
        return answer(f"firing now: {names}; resolved in the last {_words(window_seconds)}: {len(resolved)}",
                      {"at": _iso(g.at), "window_seconds": window_seconds, "firing": firing, "resolved": resolved,
                       "facts": g.pick("alerts_firing", "alerts_resolved_window"), "notes": g.notes})

    def seat_usage(self, tool: str, window_seconds: int = DEFAULT_WINDOW) -> CallToolResult:
        """One tool's seats: in use, commit and overage now; borrows, overage checkouts and their cost, peak and
        mean seats in use over the last window_seconds (since the server's last reset at most); prices."""
        name = self._tool_name(tool)
        g = self._gather(window_seconds, tool=name)
        try:
            now = self._server().tool(name)
        except DemoError as exc:
            raise ToolError(f"{exc}; check the stack and retry") from exc
        share = g.value("overage_share_now")
        window = {"borrows": g.per_tool("borrows_window", name),
                  "overage_checkouts": g.per_tool("overage_window", name),
                  "overage_cost_dollars": g.per_tool("overage_cost_window", name),
                  "peak_in_use": g.value("demand_peak"), "mean_in_use": g.value("demand_mean")}
        payload = {"tool": name, "at": _iso(g.at), "window_seconds": window_seconds, "since_reset": _iso(g.since_reset),
                   "now": {k: now.get(k) for k in ("in_use", "commit", "max_overage", "commit_in_use",
                                                   "overage_in_use", "available")},
                   "overage_share_now": share, "window": window,
                   "above_commit_fraction": g.value("above_commit_fraction"),
                   "prices": {"commit_seat_monthly": g.value("commit_cost_monthly", now.get("commit_cost_monthly")),
                              "overage_checkout": g.value("overage_cost", now.get("overage_cost"))},
                   "facts": g.pick("demand_peak", "demand_mean", "overage_share_now", "overage_seats_now",
                                   "above_commit_fraction", "commit_cost_monthly", "overage_cost"),
                   "notes": g.notes}
        share_text = f" = {share:.0%} of seats in use" if isinstance(share, (int, float)) else ""
        return answer(f"{name}: {now.get('in_use')} seats in use, commit {now.get('commit')}, "
                      f"{now.get('overage_in_use')} overage{share_text}; {window['overage_checkouts']:g} overage "
                      f"checkouts (${window['overage_cost_dollars']:,.0f}) in the last {_words(window_seconds)}",
                      payload)

    def borrowers(self, tool: str, window_seconds: int = DEFAULT_WINDOW) -> CallToolResult:
        """Who borrows one tool: checkouts by team and by user over the last window_seconds, the top team's
        share, and the seats each team holds now."""
        name = self._tool_name(tool)
        g = self._gather(window_seconds, tool=name)
        teams, users = g.value("checkouts_by_team", []) or [], g.value("checkouts_by_user", []) or []
        held = g.value("held_by_team", []) or []
        top = (f"team {teams[0]['team']} made {g.value('top_team_share', 0):.0%} of {sum(r['value'] for r in teams):g} "
               f"checkouts" if teams else "no checkouts")
        holding = ", ".join(f"{h['team']} {h['seats']}" for h in held) or "none"
        return answer(f"{name} in the last {_words(window_seconds)}: {top}; seats held now by team: {holding}",
                      {"tool": name, "at": _iso(g.at), "window_seconds": window_seconds, "by_team": teams,
                       "by_user": users, "top_team_share": g.value("top_team_share"), "held_by_team": held,
                       "facts": g.pick("checkouts_by_team", "checkouts_by_user", "top_team_share", "held_by_team"),
                       "notes": g.notes})

    def overage_logs(self, tool: str | None = None, user: str | None = None, window_seconds: int = DEFAULT_WINDOW,
                     limit: int = 20) -> CallToolResult:
        """The overage borrows of a tool or a user, newest first: Loki's log lines when the server was given
        --loki, else the server's own records of the overage seats held now (GET /api/borrows)."""
        if not tool and not user:
            raise ToolError("send a tool or a user (or both): e.g. tool='Vector - DaVinci Configurator SE'")
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LINES:
            raise ToolError(f"limit={limit!r} is out of range: send 1 to {MAX_LINES}")
        check_window(window_seconds)
        name = self._tool_name(tool) if tool else None
        who = self._user_name(user) if user else None
        scope = " and ".join(x for x in (name, who) if x)
        if self.cfg.loki_url:
            query = ('{app="license-server"} | json | event="borrow" | overage="true"'
                     + (f" | tool={quoted(name)}" if name else "") + (f" | user={quoted(who)}" if who else ""))
            end = time.time()
            try:
                streams = LokiClient(self.cfg.loki_url).query_range(
                    query, int((end - window_seconds) * 1e9), int(end * 1e9), limit)
            except DemoError as exc:
                raise ToolError(f"{exc}; start the server without --loki to read the server's records") from exc
            values = sorted((v for s in streams for v in s.get("values", [])), key=lambda v: int(v[0]), reverse=True)
            lines = [_log_fields(v[1]) for v in values[:limit]]
            return answer(f"{len(lines)} overage log lines of {scope} in the last {_words(window_seconds)} (Loki)",
                          {"source": "loki", "query": query, "lines": lines, "limit": limit})
        filters = {k: v for k, v in (("tool", name), ("user", who)) if v}
        try:
            borrows = [b for b in self._server().borrows(**filters) if b.get("overage")]
        except DemoError as exc:
            raise ToolError(f"{exc}; check the stack and retry") from exc
        borrows.sort(key=lambda b: b.get("borrowed_at") or "", reverse=True)
        records = [{k: b.get(k) for k in ("borrowed_at", "tool", "user", "team", "cost", "id")} for b in borrows]
        shown = records[:limit]
        return answer(f"{len(records)} overage seats of {scope} held now (server records; no Loki configured)"
                      + (f", newest {len(shown)} shown" if len(shown) < len(records) else ""),
                      {"source": "server", "query": "GET /api/borrows?" + "&".join(f"{k}={v}" for k, v in filters.items()),
                       "lines": shown, "total": len(records), "limit": limit})

    def changes(self, window_seconds: int = 3600) -> CallToolResult:
        """Recent changes: deployments and rollbacks (GET /api/deployments), the versions seen in the window,
        configuration changes per tool and the fault switches on now."""
        g = self._gather(window_seconds)
        try:
            deployments = self._server().call("GET", "/api/deployments").json()
        except (DemoError, ValueError) as exc:
            deployments = {"error": str(exc)}
        config = g.value("config_changes_window", []) or []
        history = deployments.get("history", []) if isinstance(deployments, dict) else []
        current = (deployments.get("current") or {}) if isinstance(deployments, dict) else {}
        summary = (f"running {current.get('version', '?')}; last change: {g.value('last_change') or 'none in the window'}; "
                   f"config changes: " + (", ".join(f"{r['tool']} {r['value']:g}" for r in config) or "none")
                   + f" in the last {_words(window_seconds)}")
        return answer(summary, {"at": _iso(g.at), "window_seconds": window_seconds, "current": current,
                                "history": history[-10:][::-1], "config_changes": config,
                                "faults_active": g.value("faults_active", []),
                                "facts": g.pick("last_change", "versions_window", "version_now",
                                                "config_changes_window", "faults_active"), "notes": g.notes})

    def incidents(self, incident_id: str | None = None, status: str | None = None) -> CallToolResult:
        """Incidents, newest first (status 'open' or 'resolved' to filter); with incident_id, that incident
        with its timeline, approvals and the latest report's summary."""
        if incident_id:
            record = self._incident(incident_id)
            timeline = [{k: e.get(k) for k in ("at", "kind", "by", "detail")} for e in record.get("timeline", [])]
            payload = {k: record.get(k) for k in ("id", "status", "alert", "severity", "tool", "user", "team",
                                                  "summary", "opened_at", "resolved_at")}
            payload.update(timeline=timeline[::-1], approvals=record.get("approvals", []),
                           reports=len(record.get("reports", [])))
            return answer(f"{record['id']} {record.get('status')}: {record.get('alert')} "
                          f"{record.get('tool') or record.get('user') or ''}, {len(timeline)} timeline events", payload)
        if status not in (None, "open", "resolved"):
            raise ToolError(f"status {status!r} is not a status: send 'open', 'resolved' or nothing for all")
        try:
            records = self._server().incidents(status)
        except DemoError as exc:
            raise ToolError(f"{exc}; check the stack and retry") from exc
        rows = [{k: r.get(k) for k in ("id", "status", "alert", "tool", "user", "opened_at", "summary")}
                for r in records]
        return answer(f"{len(rows)} incidents" + (f" {status}" if status else "") + ": "
                      + (", ".join(f"{r['id']} {r['status']} {r['alert']}" for r in rows[:5]) or "none"),
                      {"incidents": rows, "total": len(rows)})

    def investigate(self, text: str, tool: str | None = None, user: str | None = None, alert: str | None = None,
                    window_seconds: int = DEFAULT_WINDOW) -> CallToolResult:
        """The built-in investigator on a question ('overage spike on DaVinci'): its facts, ranked hypotheses
        and proposed actions with their exact calls. With --allow-write it files (or joins) the incident,
        whose id apply_action takes; read-only it files nothing."""
        if not (text or "").strip() and not (tool or user or alert):
            raise ToolError("send what is wrong as text, e.g. 'overage spike on DaVinci', or a tool, user or alert")
        if len(text or "") > 500:
            raise ToolError("text is longer than 500 characters: send one sentence naming the tool, user or symptom")
        name = self._tool_name(tool) if tool else None
        who = self._user_name(user) if user else None
        if alert and not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,80}$", alert):
            raise ToolError(f"alert {alert!r} is not an alert name: send one like HighOverageRate (alerts lists them)")
        record = self.allow_write and bool(self.cfg.admin_token)
        try:
            inv = evidence_view.investigate(self.cfg, text or "", check_window(window_seconds), alert=alert,
                                            tool=name, user=who, record_incident=record)
        except DemoError as exc:
            raise ToolError(f"{exc}; check the stack and retry") from exc
        r = inv.result
        payload = {k: r.get(k) for k in ("status", "error", "alert", "alert_firing", "severity", "tool",
                                         "top_hypothesis", "first_action", "incident_id", "incident_url")}
        payload["hypotheses"] = [{k: h[k] for k in ("key", "title", "confidence", "subject")} for h in r["hypotheses"][:5]]
        payload["actions"] = [{k: a.get(k) for k in ("priority", "id", "title", "hypothesis", "request", "target",
                                                      "risk", "why")} for a in r["actions"]]
        payload["facts"] = [{k: f[k] for k in ("key", "label", "value", "unit")} for f in r["evidence"]["facts"]]
        payload["notes"] = r["notes"] + r["evidence"]["notes"]
        if not record:
            payload["notes"].append("read-only server: no incident filed (start license-demo mcp --allow-write "
                                    "to file one and apply its proposals)")
        return answer(r["summary"], payload)

    def promql(self, query: str, at: float | None = None) -> CallToolResult:
        """One instant PromQL query against the stack's Prometheus (at `at`, epoch seconds, default now);
        ranges and subqueries up to a day, at most 25 series in the answer."""
        if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY_CHARS:
            raise ToolError(f"send one PromQL expression of 1 to {MAX_QUERY_CHARS} characters, "
                            "e.g. sum by (tool) (licenses_in_use)")
        for match in re.finditer(r"\[([^\]]*)\]", query):
            for part in match.group(1).split(":"):
                seconds = sum(float(n) * UNIT_SECONDS[u] for n, u in DURATION.findall(part))
                if seconds > MAX_RANGE_SECONDS:
                    raise ToolError(f"range [{match.group(1)}] reaches back more than a day: send at most [1d], "
                                    "e.g. increase(license_borrow_success_total[1h])")
        if at is not None and not (0 < at <= time.time() + 60):
            raise ToolError("at must be epoch seconds no later than now, or left out for now")
        try:
            rows = self.cfg.sources().prometheus.query(query, at=at)
        except DemoError as exc:
            raise ToolError(f"Prometheus refused the query: {str(exc)[:300]}; send a valid PromQL expression, "
                            "e.g. sum by (tool) (licenses_in_use)") from exc
        series = [{"metric": r.get("metric", {}), **({"value": r["value"][1]} if "value" in r else
                                                    {"values": r.get("values", [])[-20:]})} for r in rows]
        return answer(f"{len(series)} series for {query[:120]}", {"query": query, "series": series,
                                                                   "total_series": len(series)})

    # --- writes ------------------------------------------------------------------------------------

    def _check_write(self, approver: str) -> str:
        """The approver's name when writes are on, else a tool error saying how to enable them."""
        if not self.allow_write:
            raise ToolError("this server is read-only: writes need `license-demo mcp --allow-write` (and the "
                            "admin token); nothing was changed")
        name = " ".join((approver or "").split())
        if not name or not SAFE_NAME.match(name):
            raise ToolError("send approver: the name of the person who approves this change (e.g. 'Dana, on "
                            "call'); it goes to the audit log and the incident timeline. Nothing was changed")
        if not self.cfg.admin_token:
            raise ToolError("no admin token: start license-demo mcp with ADMIN_TOKEN set; nothing was changed")
        return name

    def apply_action(self, incident_id: str, action_id: str, approver: str,
                     verify_seconds: int = 30) -> CallToolResult:
        """Apply one proposed action of an open incident (ids from investigate: raise-commit, notify-team,
        force-return, rollback), approved by `approver`, as `investigate --approve ID --approver NAME` does:
        recorded in the audit log and on the incident's timeline, then verified for up to verify_seconds.
        Needs --allow-write."""
        name = self._check_write(approver)
        if not isinstance(verify_seconds, int) or not 0 <= verify_seconds <= MAX_VERIFY:
            raise ToolError(f"verify_seconds={verify_seconds!r} is out of range: send 0 to {MAX_VERIFY}")
        record = self._incident(incident_id)
        if record.get("status") != "open":
            raise ToolError(f"{incident_id} is {record.get('status')}: only an open incident's proposals can be "
                            "applied (incidents status='open' lists them)")
        try:
            outcome = evidence_view.apply_proposal(self.cfg, record, action_id, name, DEFAULT_WINDOW, verify_seconds)
        except DemoError as exc:
            raise ToolError(f"{exc}; nothing was applied") from exc
        if outcome.get("status") == "not_proposed":
            raise ToolError(f"{incident_id} has no proposal {action_id!r} now: send one of "
                            f"{', '.join(outcome['proposed']) or '(none: nothing to apply)'}")
        return answer(f"{action_id} on {incident_id}: {outcome.get('status')}"
                      + (f", {outcome.get('result')}" if outcome.get("result") else ""),
                      {"incident_id": incident_id, **outcome})

    def add_note(self, incident_id: str, text: str, approver: str) -> CallToolResult:
        """Add a note to an incident's timeline (and the audit log), signed by `approver`. Needs --allow-write."""
        name = self._check_write(approver)
        if not (text or "").strip() or len(text) > 2000:
            raise ToolError("send text: the note, 1 to 2000 characters")
        record = self._incident(incident_id)
        try:
            line = evidence_view.add_note(self.cfg, record, text.strip(), name)
        except DemoError as exc:
            raise ToolError(f"{exc}; the note was not added") from exc
        return answer(f"note added to {incident_id} by {name}", {"incident_id": incident_id, "audit": line})


def _log_fields(text: str) -> dict:
    """The useful fields of one JSON log line (the raw line when it is not JSON)."""
    import json
    try:
        line = json.loads(text)
    except ValueError:
        return {"line": text[:300]}
    keep = ("time", "timestamp", "event", "tool", "user", "team", "overage", "cost", "request_id", "borrow_id")
    return {k: line[k] for k in keep if k in line} if isinstance(line, dict) else {"line": text[:300]}


def investigate_alert_prompt(alert: str, tool: str = "", user: str = "") -> str:
    """The demo's method for one alert, as a prompt an agent can follow with this server's tools."""
    about = " ".join(x for x in (alert, f"on {tool}" if tool else "", f"by {user}" if user else "") if x)
    return f"""Investigate the alert {about} on the license-server demo stack, with the tools of this server.

1. alerts: is {alert} firing now, or did it fire and resolve? Note its labels (tool, user).
2. seat_usage for the tool: seats in use against commit, the overage share, overage checkouts and their
   cost over the window. Read the runbook resource runbook://{alert} for what the alert means.
3. borrowers for the tool: which team and which users take the seats; is one team most of it?
4. overage_logs for the tool (or the user): the borrows behind the numbers.
5. changes: a deployment, rollback, configuration change or fault just before it started?
6. investigate with the question: compare its ranked hypotheses with what you found; say which cause
   you believe, with the numbers that support it, and which action you propose with its parameters.
7. Change nothing on your own: propose the action and wait for a person's approval. Only with their
   name, and a server started with --allow-write, call apply_action (or add_note to record a finding).
Answer: the alert (or none), the tool and team or user, the root cause, the action and its parameters.
Answers are capped at {MAX_ANSWER_CHARS} characters of JSON; a `truncated` field says what was cut."""


class _Server(MCPServer):
    """MCPServer whose unknown-tool error lists the tools to call instead."""

    async def call_tool(self, name, arguments, context=None):
        """Call `name`; an unknown name is a tool error naming the known ones."""
        known = [t.name for t in self._tool_manager.list_tools()]
        if name not in known:
            raise ToolError(f"unknown tool {name!r}: call one of {', '.join(known)}")
        return await super().call_tool(name, arguments, context)
