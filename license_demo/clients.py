"""HTTP clients for the parts a journey talks to: license server, Prometheus, Alertmanager, Loki, Grafana."""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

import requests
import yaml

from license_demo.timestamps import epoch
from rule_source.durations import duration_seconds

TIMEOUT = 10


class DemoError(RuntimeError):
    """A step of a journey failed; the message says what to check next."""


def received_at(alert: dict) -> float:
    """Epoch seconds at which the server's webhook received `alert` (its `received_at`)."""
    return epoch(alert["received_at"])


def _check(response: requests.Response, what: str) -> requests.Response:
    """Raise a DemoError naming `what` when the answer is not a success."""
    if response.status_code >= 400:
        raise DemoError(f"{what} answered HTTP {response.status_code}: {response.text[:300]}")
    return response


@dataclass
class ServerClient:
    """The license server's public and admin HTTP API."""

    url: str
    admin_token: str | None = None

    def _headers(self, admin: bool) -> dict:
        """Headers for a call; admin calls carry the bearer token."""
        headers = {"X-Request-ID": f"demo-{time.time_ns()}"}
        if admin:
            if not self.admin_token:
                raise DemoError("this step needs the admin token: set ADMIN_TOKEN or pass --admin-token")
            headers["Authorization"] = f"Bearer {self.admin_token}"
        return headers

    def call(self, method: str, path: str, json=None, admin: bool = False,
             expect_error: bool = False, headers: dict | None = None) -> requests.Response:
        """Send one request; raise DemoError on failure unless `expect_error`."""
        try:
            response = requests.request(method, self.url.rstrip("/") + path, json=json,
                                        headers={**self._headers(admin), **(headers or {})},
                                        timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise DemoError(f"license server at {self.url} unreachable ({exc}); is it running?") from exc
        return response if expect_error else _check(response, f"{method} {path}")

    def tools(self) -> list[dict]:
        """All tools with their seat counts."""
        return self.call("GET", "/api/tools").json()

    def tool(self, name: str) -> dict:
        """One tool by name."""
        return self.call("GET", f"/api/tools/{requests.utils.quote(name, safe='')}").json()

    def borrows(self, **filters) -> list[dict]:
        """Active borrows, filtered by user, tool or team."""
        query = "&".join(f"{k}={requests.utils.quote(str(v), safe='')}" for k, v in filters.items())
        return self.call("GET", "/api/borrows" + (f"?{query}" if query else "")).json()

    def configure_tool(self, name: str, **settings) -> dict:
        """Change commit, max_overage or costs of one tool (admin)."""
        return self.call("PUT", f"/api/config/tools/{requests.utils.quote(name, safe='')}",
                         json=settings, admin=True).json()

    def force_return(self, user: str) -> dict:
        """Return every seat `user` holds in one call (admin)."""
        return self.call("POST", f"/api/users/{requests.utils.quote(user, safe='')}/force-return",
                         admin=True).json()

    def reset(self) -> dict:
        """Return the server to a fresh demo state (admin)."""
        return self.call("POST", "/api/reset", admin=True).json()

    def set_fault(self, name: str, variant: str) -> dict:
        """Switch a fault to `variant` ("off" to clear it) (admin)."""
        return self.call("PUT", f"/api/faults/{name}", json={"variant": variant}, admin=True).json()

    def faults(self) -> list[dict]:
        """The fault switches with their variants and current state."""
        return self.call("GET", "/api/faults").json()

    def deploy(self, version: str, commit: str, faults: dict | None = None) -> dict:
        """Record a deployment of `version` (optionally switching faults on with it) (admin)."""
        body = {"version": version, "commit": commit, **({"faults": faults} if faults else {})}
        return self.call("POST", "/api/deployments", json=body, admin=True).json()

    def rollback(self) -> dict:
        """Go back to the previous deployment and clear the faults it brought (admin)."""
        return self.call("POST", "/api/deployments/rollback", admin=True).json()

    def mark_act(self, journey: str, act: str) -> dict:
        """Record the start of a demo act (log event and metric) (admin)."""
        return self.call("POST", "/api/demo/marks", json={"journey": journey, "act": act},
                         admin=True).json()

    def alerts(self, status: str | None = None) -> list[dict]:
        """Alerts as last received by the server's Alertmanager webhook."""
        return self.call("GET", "/api/alerts" + (f"?status={status}" if status else "")).json()

    def incidents(self, status: str | None = None) -> list[dict]:
        """The server's incidents (GET /api/incidents), newest first; `status` open or resolved."""
        return self.call("GET", "/api/incidents" + (f"?status={status}" if status else "")).json()

    def wait_for_webhook(self, alertname: str, status: str = "firing", timeout: float = 90.0,
                         labels: dict | None = None, since: float | None = None,
                         poll: float = 0.25, see: str = "") -> dict:
        """Wait until the server's webhook holds `alertname` in `status`; return that alert.

        `labels` must all match; `since` (epoch seconds) ignores deliveries received earlier;
        `see` names where to look when it times out.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for alert in self.alerts(status):
                alert_labels = alert.get("labels", {})
                if (alert_labels.get("alertname") == alertname
                        and alert.get("status", status) == status
                        and all(alert_labels.get(k) == v for k, v in (labels or {}).items())
                        and (since is None or received_at(alert) >= since)):
                    return alert
            time.sleep(poll)
        raise TimeoutError(f"{alertname} did not reach the webhook as {status} within "
                           f"{timeout:.0f}s" + (f"; see {see}" if see else ""))


def basic_auth(service: str, fallback: str | None = None) -> tuple[str, str] | None:
    """(user, password) from $<SERVICE>_USER and $<SERVICE>_PASSWORD (else `fallback`'s), for hosted
    endpoints such as Grafana Cloud's; None when no user is set (a local stack needs none)."""
    for prefix in (service, fallback):
        if prefix and os.environ.get(f"{prefix}_USER"):
            return (os.environ[f"{prefix}_USER"], os.environ.get(f"{service}_PASSWORD")
                    or os.environ.get(f"{prefix}_PASSWORD", ""))
    return None


@dataclass
class PrometheusClient:
    """Prometheus's HTTP query API (Grafana Cloud's too: basic auth from PROMETHEUS_USER/_PASSWORD)."""

    url: str
    auth: tuple[str, str] | None = dataclasses.field(default_factory=lambda: basic_auth("PROMETHEUS"), repr=False)

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """Evaluate an instant query; returns the result vector."""
        params = {"query": expr, **({"time": f"{at:.3f}"} if at else {})}
        try:
            response = requests.get(self.url.rstrip("/") + "/api/v1/query", params=params,
                                    auth=self.auth, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise DemoError(f"Prometheus at {self.url} unreachable ({exc})") from exc
        return _check(response, f"Prometheus query {expr!r}").json()["data"]["result"]

    def scalar(self, expr: str, at: float | None = None, default: float = 0.0) -> float:
        """The value of a query with one result (sum it first), or `default` when empty."""
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else default

    def query_range(self, expr: str, start: float, end: float, step: str) -> list[dict]:
        """Evaluate a range query; returns the result matrix."""
        params = {"query": expr, "start": f"{start:.0f}", "end": f"{end:.0f}", "step": step}
        response = requests.get(self.url.rstrip("/") + "/api/v1/query_range", params=params,
                                auth=self.auth, timeout=60)
        return _check(response, f"Prometheus range query {expr!r}").json()["data"]["result"]

    def flags(self) -> dict:
        """The command-line flags Prometheus runs with."""
        response = requests.get(self.url.rstrip("/") + "/api/v1/status/flags", auth=self.auth, timeout=TIMEOUT)
        return _check(response, "Prometheus flags").json()["data"]

    def rule_groups(self, kind: str | None = None) -> list[dict]:
        """The rule groups Prometheus loaded, with only rules of one type ("alert" or "record") when given."""
        return self._data("/api/v1/rules", "Prometheus rules",
                          params={"type": kind} if kind else {})["groups"]

    def rules(self, kind: str | None = None) -> list[dict]:
        """The rules Prometheus loaded, every group's, of one type ("alert" or "record") when given."""
        return [rule for group in self.rule_groups(kind) for rule in group.get("rules", [])]

    def targets(self) -> list[dict]:
        """The active scrape targets with their health and last error."""
        return self._data("/api/v1/targets", "Prometheus targets")["activeTargets"]

    def alerts(self) -> list[dict]:
        """Alerts Prometheus holds now, pending or firing."""
        return self._data("/api/v1/alerts", "Prometheus alerts")["alerts"]

    def _data(self, path: str, what: str, params: dict | None = None) -> dict:
        """The `data` of a GET on Prometheus's API; DemoError when it cannot be reached."""
        try:
            response = requests.get(self.url.rstrip("/") + path, params=params or {}, auth=self.auth,
                                    timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise DemoError(f"Prometheus at {self.url} unreachable ({exc})") from exc
        return _check(response, what).json()["data"]


@dataclass
class AlertmanagerClient:
    """Alertmanager's v2 API (Grafana Cloud's at <url>/alertmanager: basic auth from ALERTMANAGER_USER/_PASSWORD,
    else the PROMETHEUS_ ones)."""

    url: str
    auth: tuple[str, str] | None = dataclasses.field(default_factory=lambda: basic_auth("ALERTMANAGER", "PROMETHEUS"),
                                         repr=False)

    def active(self) -> list[dict]:
        """Alerts Alertmanager currently holds active (resolved ones drop out)."""
        try:
            response = requests.get(self.url.rstrip("/") + "/api/v2/alerts",
                                    params={"active": "true", "silenced": "false",
                                            "inhibited": "true"}, auth=self.auth, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise DemoError(f"Alertmanager at {self.url} unreachable ({exc})") from exc
        return _check(response, "Alertmanager alerts").json()

    def group_interval(self) -> float | None:
        """Seconds between two sends of one notification group (the root route's group_interval,
        Alertmanager's default 5m); None when Alertmanager does not show its configuration."""
        try:
            response = requests.get(self.url.rstrip("/") + "/api/v2/status", auth=self.auth, timeout=TIMEOUT)
            config = yaml.safe_load(response.json()["config"]["original"]) or {}
        except (requests.RequestException, ValueError, KeyError, TypeError, yaml.YAMLError):
            return None
        return duration_seconds(str((config.get("route") or {}).get("group_interval", "5m")), default=300.0)


@dataclass
class LokiClient:
    """Loki's query API (Grafana Cloud's: basic auth from LOKI_USER/LOKI_PASSWORD)."""

    url: str
    auth: tuple[str, str] | None = dataclasses.field(default_factory=lambda: basic_auth("LOKI"), repr=False)

    def query_range(self, query: str, start_ns: int, end_ns: int, limit: int,
                    direction: str = "backward") -> list[dict]:
        """The streams of a LogQL range query; DemoError says what Loki answered."""
        params = {"query": query, "start": start_ns, "end": end_ns, "limit": limit, "direction": direction}
        try:
            response = requests.get(self.url.rstrip("/") + "/loki/api/v1/query_range", params=params,
                                    auth=self.auth, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise DemoError(f"Loki at {self.url} unreachable ({exc})") from exc
        if response.status_code >= 400:
            raise DemoError(f"Loki at {self.url} answered HTTP {response.status_code}: "
                            f"{response.text.strip()[:200]}")
        try:
            return response.json()["data"]["result"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DemoError(f"Loki at {self.url} answered no query result ({exc!r})") from exc


@dataclass
class GrafanaClient:
    """Grafana's annotations API (only used when a URL and a token are configured)."""

    url: str
    token: str

    def annotate(self, text: str, tags: list[str], at_ms: int) -> None:
        """Post an organisation-wide annotation at `at_ms`."""
        response = requests.post(self.url.rstrip("/") + "/api/annotations",
                                 json={"time": at_ms, "tags": tags, "text": text},
                                 headers={"Authorization": f"Bearer {self.token}"}, timeout=TIMEOUT)
        _check(response, "Grafana annotation")
