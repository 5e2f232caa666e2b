"""Loopback stand-ins for a Grafana Cloud stack, answering as the documented APIs do.

Mimir (Grafana Cloud's Prometheus and Alertmanager, https://grafana.com/docs/mimir/latest/
references/http-api/): every call needs the stack's basic auth (401 otherwise). The ruler
configuration API: `GET <prefix>/config/v1/rules/{ns}/{group}` (YAML, 404 when absent), `POST
<prefix>/config/v1/rules/{ns}` (one YAML group, 202), `GET`/`DELETE <prefix>/config/v1/rules/{ns}`
(404 when empty, 202). `GET <prefix>/api/v1/rules` lists the stored groups as loaded rules;
instant queries and `/api/v1/alerts` are answered by a real Prometheus 2.42 that scrapes the
real license server (the scraper's part). The Alertmanager configuration API: `GET
/api/v1/alerts` (YAML `{template_files, alertmanager_config}`, 404 when none), `POST
/api/v1/alerts` (201, refused with 400 as Mimir refuses: empty, `*_file` settings, template names
with a path), `DELETE /api/v1/alerts` (200). The stored configuration runs in a real
Alertmanager 0.25 (only its group_wait shortened; started at the first call to its API), which
serves `/alertmanager/api/v2/...`.

Grafana (https://grafana.com/docs/grafana/latest/developers/http_api/): bearer token on /api
except `/api/health`; `GET /api/datasources`, `GET /api/datasources/uid/{uid}/health`, `GET
/api/folders/{uid}` (404), `POST /api/folders` (409 when the uid exists), `DELETE
/api/folders/{uid}` (its dashboards with it), `GET /api/dashboards/uid/{uid}` (`{dashboard,
meta.folderUid}`, 404), `POST /api/dashboards/db` (sets id and version; 412 `version-mismatch`
for an existing uid without overwrite).
"""
from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
import shutil
import threading
from pathlib import Path

import requests
import yaml

from support.loopback_peers import Peer
from support.processes import free_port, spawn, wait_http

PREFIX = "/api/prom"
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")


def basic(user: str, password: str) -> str:
    """The Authorization header of HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class RecordingPeer(Peer):
    """A peer that keeps every request with its body, for the tests to read."""

    def __init__(self):
        self.calls: list[dict] = []
        super().__init__()
        # The base peer answers GET and POST; these APIs also delete.
        self.server.RequestHandlerClass.do_DELETE = lambda handler: handler._serve("DELETE")

    def handle(self, method, path, params, headers, body):
        """Record, then answer."""
        with self.lock:
            self.calls.append({"method": method, "path": path, "params": params, "body": body,
                               "content_type": headers.get("Content-Type", "")})
        return self.answer(method, path, params, headers, body)

    def close(self) -> None:
        """Stop serving in the background (the server notices within half a second; no test waits for it)."""
        threading.Thread(target=Peer.close, args=(self,), daemon=True).start()

    def writes(self) -> list[dict]:
        """The calls that change something."""
        return [call for call in self.calls if call["method"] != "GET"]


class MimirPeer(RecordingPeer):
    """Grafana Cloud's Prometheus (ruler, query) and Alertmanager (configuration, v2 API)."""

    def __init__(self, user: str, token: str, prometheus_url: str, work_dir: Path):
        self.auth = basic(user, token)
        self.prometheus_url = prometheus_url
        self.work_dir = work_dir
        self.groups: dict[str, dict[str, dict]] = {}
        self.alertmanager_config: dict | None = None
        self.alertmanager = None
        # Processes are started from one thread that lives as long as the peer: a child may be
        # tied to the thread that started it, and a request's thread ends with the request.
        self.launcher = ThreadPoolExecutor(max_workers=1)
        super().__init__()

    def answer(self, method, path, params, headers, body):
        """One Mimir request."""
        if headers.get("Authorization") != self.auth:
            return 401, {"status": "error", "error": "authentication error: invalid token"}
        if path.startswith(PREFIX + "/config/v1/rules/"):
            return self.ruler(method, path[len(PREFIX + "/config/v1/rules/"):].split("/"), headers, body)
        if method == "GET" and path == PREFIX + "/api/v1/rules":
            return 200, {"status": "success", "data": {"groups": self.loaded_rules(params.get("type"))}}
        if method == "GET" and path in (PREFIX + "/api/v1/query", PREFIX + "/api/v1/alerts"):
            upstream = requests.get(self.prometheus_url + path[len(PREFIX):], params=params, timeout=10)
            return upstream.status_code, upstream.json()
        if path == "/api/v1/alerts":
            return self.alertmanager_configuration(method, body)
        if path.startswith("/alertmanager/api/v2/"):
            if self.alertmanager_config is None:
                return 404, "the Alertmanager is not configured"
            if self.alertmanager is None:
                self.launcher.submit(self.start_alertmanager, self.alertmanager_config).result()
            upstream = requests.request(method, self.alertmanager.url + path[len("/alertmanager"):], params=params,
                                        data=body, headers={"Content-Type": "application/json"}, timeout=10)
            return upstream.status_code, upstream.content
        return 404, "404 page not found"

    def ruler(self, method, parts, headers, body):
        """The ruler configuration API: one group per namespace and name."""
        namespace = requests.utils.unquote(parts[0])
        if len(parts) == 1 and method in ("GET", "DELETE"):
            if not self.groups.get(namespace):
                return 404, "no rule groups found"
            if method == "DELETE":
                del self.groups[namespace]
                return 202, {"status": "success", "data": None, "errorType": "", "error": ""}
            return 200, yaml.safe_dump({namespace: list(self.groups[namespace].values())}, sort_keys=False)
        if method == "GET" and len(parts) == 2:
            group = self.groups.get(namespace, {}).get(requests.utils.unquote(parts[1]))
            return (200, yaml.safe_dump(group, sort_keys=False)) if group else (404, "group does not exist")
        if method == "POST" and len(parts) == 1:
            if "yaml" not in headers.get("Content-Type", ""):
                return 400, "unsupported content type"
            group = yaml.safe_load(body)
            if not isinstance(group, dict) or not group.get("name") or not isinstance(group.get("rules"), list):
                return 400, "the request body must hold one rule group"
            self.groups.setdefault(namespace, {})[group["name"]] = group
            return 202, {"status": "success", "data": None, "errorType": "", "error": ""}
        return 405, "method not allowed"

    def loaded_rules(self, kind: str | None) -> list[dict]:
        """The stored groups as the Prometheus rules API lists them (never evaluated here: inactive, healthy)."""
        found = []
        for namespace, groups in self.groups.items():
            for group in groups.values():
                rules = [{"name": rule.get("alert") or rule["record"], "query": rule["expr"], "health": "ok",
                          "type": "alerting" if "alert" in rule else "recording"} for rule in group["rules"]]
                rules = [r for r in rules if kind is None or r["type"].startswith(kind)]
                found.append({"name": group["name"], "file": namespace, "rules": rules})
        return found

    def alertmanager_configuration(self, method, body):
        """Mimir's configuration API, its refusals included."""
        if method == "GET":
            if self.alertmanager_config is None:
                return 404, "alertmanager storage object not found"
            return 200, yaml.safe_dump(self.alertmanager_config, sort_keys=False)
        if method == "DELETE":
            self.alertmanager_config = None
            if self.alertmanager is not None:
                self.alertmanager.stop()
                self.alertmanager = None
            return 200, b""
        stored = yaml.safe_load(body) or {}
        text = stored.get("alertmanager_config") or ""
        if not text:
            return 400, "error validating Alertmanager config: configuration provided is empty"
        if any(key in text for key in ("credentials_file", "password_file", "api_url_file", "bearer_token_file")):
            return 400, "error validating Alertmanager config: setting password_file, bearer_token_file and " \
                        "credentials_file is not allowed"
        if any("/" in name for name in stored.get("template_files") or {}):
            return 400, "error validating Alertmanager config: invalid template name"
        self.alertmanager_config = stored
        if self.alertmanager is not None:
            # The new configuration runs from the next call to the Alertmanager's API on.
            self.alertmanager.stop()
            self.alertmanager = None
        return 201, b""

    def start_alertmanager(self, stored: dict) -> None:
        """Run the stored configuration in a real Alertmanager (group_wait shortened to 1 s)."""
        folder = self.work_dir / "alertmanager"
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in (stored.get("template_files") or {}).items():
            (folder / name).write_text(text)
        config = yaml.safe_load(stored["alertmanager_config"])
        config["route"]["group_wait"] = "1s"
        (folder / "alertmanager.yml").write_text(yaml.safe_dump(config))
        binary = next(filter(None, map(shutil.which, ALERTMANAGER_BINARIES)))
        port = free_port()
        self.alertmanager = spawn("alertmanager", [
            binary, f"--config.file={folder / 'alertmanager.yml'}", f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="], folder / "alertmanager.log")
        self.alertmanager.url = f"http://127.0.0.1:{port}"
        wait_http(self.alertmanager.url + "/-/ready", timeout=20, proc=self.alertmanager.proc)

    def close(self) -> None:
        """Stop serving and the Alertmanager."""
        if self.alertmanager is not None:
            self.alertmanager.stop()
        self.launcher.shutdown()
        RecordingPeer.close(self)


class GrafanaCloudPeer(RecordingPeer):
    """A Grafana stack's datasources, folders and dashboards."""

    def __init__(self, token: str, datasources: list[dict]):
        self.token, self.datasources = token, datasources
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}
        super().__init__()

    def answer(self, method, path, params, headers, body):
        """One Grafana request."""
        if path == "/api/health":
            return 200, {"commit": "0123abcd", "database": "ok", "version": "11.3.0"}
        signed_in = headers.get("Authorization") == f"Bearer {self.token}"
        if path.startswith("/d/") or path in ("/explore", "/alerting/list"):
            return (200, f"<!doctype html><title>Grafana</title>{path}".encode()) if signed_in else (302, "/login")
        if path == "/login":
            return 200, b"<!doctype html><title>Grafana</title><h1>Welcome to Grafana</h1>"
        if not signed_in:
            return 401, {"message": "Unauthorized"}
        parts = path.strip("/").split("/")
        if method == "GET" and path == "/api/datasources":
            return 200, self.datasources
        if method == "GET" and parts[:3] == ["api", "datasources", "uid"] and parts[4:] == ["health"]:
            if not any(d["uid"] == parts[3] for d in self.datasources):
                return 404, {"message": "Data source not found"}
            return 200, {"status": "OK", "message": "Data source is working"}
        if parts[:2] == ["api", "folders"]:
            return self.folder(method, parts[2:], body)
        if method == "GET" and parts[:3] == ["api", "dashboards", "uid"] and len(parts) == 4:
            stored = self.dashboards.get(parts[3])
            return (200, stored) if stored else (404, {"message": "Dashboard not found"})
        if method == "POST" and path == "/api/dashboards/db":
            return self.save(json.loads(body))
        return 404, {"message": "Not found"}

    def folder(self, method, rest, body):
        """GET /api/folders/{uid}, POST /api/folders."""
        if method == "GET" and len(rest) == 1:
            return (200, self.folders[rest[0]]) if rest[0] in self.folders else (404, {"message": "Folder not found"})
        if method == "POST" and not rest:
            request = json.loads(body)
            if request["uid"] in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            self.folders[request["uid"]] = {"id": len(self.folders) + 1, "uid": request["uid"],
                                            "title": request["title"], "version": 1}
            return 200, self.folders[request["uid"]]
        if method == "DELETE" and len(rest) == 1 and rest[0] in self.folders:
            folder = self.folders.pop(rest[0])
            self.dashboards = {uid: d for uid, d in self.dashboards.items() if d["meta"]["folderUid"] != rest[0]}
            return 200, {"message": "Folder deleted", "id": folder["id"], "title": folder["title"]}
        return 405, {"message": "Method not allowed"}

    def save(self, request: dict):
        """POST /api/dashboards/db."""
        dashboard = dict(request["dashboard"])
        uid = dashboard["uid"]
        if request.get("folderUid") not in self.folders:
            return 400, {"message": "folder not found", "status": "not-found"}
        old = self.dashboards.get(uid)
        if old and not request.get("overwrite"):
            return 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}
        version = old["dashboard"]["version"] + 1 if old else 1
        dashboard.update(id=old["dashboard"]["id"] if old else len(self.dashboards) + 1, version=version)
        self.dashboards[uid] = {"dashboard": dashboard, "meta": {"folderUid": request["folderUid"], "slug": uid}}
        return 200, {"id": dashboard["id"], "uid": uid, "url": f"/d/{uid}/{uid}", "status": "success",
                     "version": version, "slug": uid}
