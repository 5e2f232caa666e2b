"""Take the screenshots of each act with headless Chromium (Playwright)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from license_demo import browser as chromium
from license_demo.clients import DemoError, ServerClient
from license_demo.ui_links import act_urls

# The server's pages the audience sees; the other URLs of an act are APIs or other tools.
SERVER_PAGES = ("/dashboard", "/config", "/incidents")
VIEWPORT = {"width": 1280, "height": 800}
# Time for a page's last answers to paint before the screenshot.
SETTLE_MS = 500
# The dashboard shows alerts only after its first poll (DASHBOARD_REFRESH_MS, 3 s by default).
POLL_TIMEOUT_MS = 15_000
# Longest wait for Alertmanager's notification to reach the server's banner (group_wait + margin).
BANNER_TIMEOUT = 12.0


@dataclass
class Shot:
    """One screenshot: which act, which page, when, the PNG file."""

    act_number: int
    act_key: str
    label: str
    url: str
    at: float
    path: Path


class DeckRecorder:
    """Screenshot the server page (and Grafana panel, when configured) each act ends on."""

    def __init__(self, directory: Path, server_url: str, admin_token: str | None,
                 grafana_url: str | None = None, grafana_token: str | None = None, browser=None, out=print):
        """Record into `directory`; `browser`: a Playwright Browser to use (default: start one)."""
        self.directory = Path(directory)
        self.server_url = server_url.rstrip("/")
        self.admin_token = admin_token
        self.server = ServerClient(self.server_url, admin_token)
        self.grafana_url = (grafana_url or "").rstrip("/")
        self.grafana_token = grafana_token
        self.out = out
        self.shots: list[Shot] = []
        self.problems: list[str] = []
        self._browser, self._playwright = browser, None
        self._pages: dict[str, object] = {}

    # Runner observer.

    def on_act_start(self, ctx, number: int, act) -> None:
        """Nothing to see yet: the act's effect shows when it ends."""

    def on_act_end(self, ctx, number: int, act) -> None:
        """Screenshot what the audience sees now; a failing screenshot never stops the run."""
        self._await_banner(ctx)
        for label, url in self.pages_for(ctx, act):
            try:
                self.shots.append(self._shoot(number, act.key, label, url))
            except Exception as exc:  # noqa: BLE001 - the deck is a by-product of the rehearsal
                self.problems.append(f"act {number} ({act.title}): no screenshot of {url}: {exc}")
                self.out(f"  deck: no screenshot of {url} ({str(exc).splitlines()[0][:160]})")

    def _await_banner(self, ctx, timeout: float = BANNER_TIMEOUT) -> None:
        """Wait until the server's webhook holds every alert Alertmanager has active.

        An act may see an alert in Alertmanager's API before the notification (after
        group_wait) reaches the server, whose record feeds the dashboard's banner.
        """
        if ctx.alertmanager is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                active = {a["labels"]["alertname"] for a in ctx.alertmanager.active()
                          if a["labels"].get("synthetic") != "true"}
                shown = {a["labels"]["alertname"] for a in self.server.alerts("firing")}
            except Exception:  # noqa: BLE001 - without the APIs there is nothing to wait for
                return
            if active <= shown:
                return
            time.sleep(0.5)

    # Choosing the pages.

    def pages_for(self, ctx, act) -> list[tuple[str, str]]:
        """The server page of the act (its first one shown, else an open incident, else /dashboard)
        and, with a Grafana URL, its first Grafana page."""
        urls = act_urls(ctx, act.show)
        server = [u for u in urls if u.startswith(self.server_url)
                  and urlsplit(u).path.startswith(SERVER_PAGES)]
        pages = [("server", server[0] if server else self._incident_or_dashboard())]
        if self.grafana_url:
            # The recorder's own Grafana URL: the run may have none (act_urls then swaps
            # Grafana's pages for the server's), the deck still wants its panels.
            base = self.grafana_url.rstrip("/")
            grafana = [t.replace("{grafana}", base, 1) for t in act.show if t.startswith("{grafana}")]
            if grafana:
                pages.append(("grafana", grafana[0] + ("&" if "?" in grafana[0] else "?") + "kiosk"))
        return pages

    def _incident_or_dashboard(self) -> str:
        """The newest open incident's page, or the dashboard."""
        try:
            incidents = self.server.incidents("open")
            if incidents:
                return f"{self.server_url}/incidents/{incidents[0]['id']}"
        except (DemoError, ValueError, KeyError, TypeError):
            pass
        return self.server_url + "/dashboard"

    # Chromium.

    def _page(self, kind: str):
        """One page per origin kind, created on first use (Grafana's carries the token)."""
        if kind not in self._pages:
            if self._browser is None:
                from playwright.sync_api import sync_playwright
                self._playwright = sync_playwright().start()
                self._browser = chromium.launch(self._playwright)
            headers = ({"Authorization": f"Bearer {self.grafana_token}"}
                       if kind == "grafana" and self.grafana_token else {})
            context = self._browser.new_context(viewport=VIEWPORT, extra_http_headers=headers)
            self._pages[kind] = context.new_page()
        return self._pages[kind]

    def _shoot(self, number: int, key: str, label: str, url: str) -> Shot:
        """Open `url`, log in to /config when asked, wait for the page to settle, save a PNG."""
        page = self._page(label)
        if urlsplit(url).path == "/dashboard" and label == "server":
            # Left open between acts: its next poll brings the current seats and alerts.
            with page.expect_response(lambda r: "/api/alerts" in r.url, timeout=POLL_TIMEOUT_MS):
                if page.url != url:
                    page.goto(url, wait_until="load", timeout=20_000)
        else:
            page.goto(url, wait_until="load", timeout=20_000)
        if label == "server" and page.locator("input[name=token]").count() and self.admin_token:
            page.fill("input[name=token]", self.admin_token)
            page.fill("input[name=name]", "presenter")
            page.click("form.login button[type=submit]")
            page.wait_for_load_state("load")
        page.wait_for_timeout(SETTLE_MS)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"act-{number}-{key}-{label}.png"
        page.screenshot(path=str(path))
        return Shot(number, key, label, url, time.time(), path)

    def close(self) -> None:
        """Close the pages, and Chromium when this recorder started it."""
        for page in self._pages.values():
            page.context.close()
        self._pages.clear()
        if self._playwright is not None:
            self._browser.close()
            self._playwright.stop()
            self._playwright = self._browser = None

    def write(self, journey, report: dict) -> Path:
        """Render deck.html from the shots and the run's report (`timeline_report.to_json`); return its path."""
        from license_demo.deck.html import render
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "deck.html"
        path.write_text(render(journey, report, self.shots, self.problems))
        return path
