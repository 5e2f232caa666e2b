"""Admin sessions of /config: a random shared key, ended by logout and by a token change, and a
limit on wrong tokens per client."""
from __future__ import annotations

import hashlib
import re

import pytest
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from playwright.sync_api import expect

from support.processes import start_license_server

DAVINCI = "Vector - DaVinci Configurator SE"


def login(http: requests.Session, url: str, token: str) -> requests.Response:
    """Submit the login form with the CSRF token of the login page."""
    page = http.get(url + "/config", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return http.post(url + "/config/login", data={"token": token, "name": "presenter",
                                                   "csrf_token": csrf}, timeout=10)


def copy_of(http: requests.Session) -> requests.Session:
    """A new connection pool carrying the same cookies."""
    other = requests.Session()
    other.cookies.update(http.cookies)
    return other


def logged_in(http: requests.Session, url: str) -> bool:
    """Whether /config shows the tool forms (not the login form) to this cookie jar."""
    return 'name="commit"' in http.get(url + "/config", timeout=10).text


@pytest.mark.browser
def test_copied_cookie_stops_working_after_logout(browser, server, api, admin_token):
    """A session cookie copied to another browser works until the owner logs out, then never."""
    owner = browser.new_context()
    thief = browser.new_context()
    try:
        page = owner.new_page()
        page.goto(server.url + "/config")
        page.fill("input[name=token]", admin_token)
        with page.expect_navigation():
            page.click("form.login button[type=submit]")
        expect(page.locator("table.config-table")).to_be_visible()

        thief.add_cookies(owner.cookies())
        stolen = thief.new_page()
        stolen.goto(server.url + "/config")
        expect(stolen.locator("table.config-table")).to_be_visible()
        csrf = stolen.locator("input[name=csrf_token]").first.get_attribute("value")

        with page.expect_navigation():
            page.click("form.logout button[type=submit]")
        stolen.goto(server.url + "/config")
        expect(stolen.locator("input[name=token]")).to_be_visible()
        expect(stolen.locator("table.config-table")).to_have_count(0)
        replay = stolen.request.post(server.url + "/config", form={
            "tool": DAVINCI, "commit": "9", "max_overage": "1", "overage_cost": "1",
            "commit_cost_monthly": "1", "csrf_token": csrf})
        assert replay.status == 401
        assert api("GET", f"/api/tools/{DAVINCI}").json()["commit"] == 5
    finally:
        owner.close()
        thief.close()


def test_session_key_is_random_shared_and_survives_restarts_but_not_a_token_change(tmp_path):
    """Workers and restarts accept the cookie; a new ADMIN_TOKEN ends it; the key is not the token's."""
    data_dir = tmp_path / "server"
    env = {"ADMIN_TOKEN": "first-token"}
    server = start_license_server(data_dir, env=env, workers=3)
    http = requests.Session()
    try:
        assert login(http, server.url, "first-token").ok
        # Fresh connections land on any of the three workers: each accepts the cookie.
        assert all(logged_in(copy_of(http), server.url) for _ in range(6))
        # The key is not the old one derived from the token, so a cookie cannot test guesses.
        derived = Flask("derived")
        derived.secret_key = hashlib.sha256(b"license-server-session:first-token").hexdigest()
        with pytest.raises(BadSignature):
            SecureCookieSessionInterface().get_signing_serializer(derived).loads(
                http.cookies["session"])
    finally:
        server.stop()

    server = start_license_server(data_dir, env=env, workers=2, port=int(server.url.rsplit(":", 1)[1]))
    try:
        assert logged_in(http, server.url), "a restart with the same token keeps the session"
    finally:
        server.stop()

    server = start_license_server(data_dir, env={"ADMIN_TOKEN": "second-token"}, workers=2,
                                  port=int(server.url.rsplit(":", 1)[1]))
    try:
        assert not logged_in(http, server.url), "a new ADMIN_TOKEN ends earlier sessions"
        assert login(http, server.url, "second-token").ok and logged_in(http, server.url)
    finally:
        server.stop()


def test_wrong_tokens_are_limited_per_client_on_every_worker(server_factory, admin_token):
    """Ten wrong tokens (form or API, any worker), then 429 with Retry-After, even for the right one."""
    server = server_factory(workers=3)
    http = requests.Session()
    for attempt in range(10):
        if attempt % 2:
            answer = login(http, server.url, f"guess-{attempt}")
        else:
            answer = requests.put(f"{server.url}/api/config/tools/{DAVINCI}", json={"commit": 6},
                                  headers={"Authorization": f"Bearer guess-{attempt}"}, timeout=10)
        assert answer.status_code == 401, attempt
    form = login(http, server.url, admin_token)
    assert form.status_code == 429 and "Too many wrong tokens" in form.text
    assert int(form.headers["Retry-After"]) > 0
    api = requests.put(f"{server.url}/api/config/tools/{DAVINCI}", json={"commit": 6},
                       headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert api.status_code == 429 and api.json()["error"] == "too_many_requests"
    assert int(api.headers["Retry-After"]) > 0 and "try again in" in api.json()["detail"]
    assert requests.get(f"{server.url}/api/tools/{DAVINCI}", timeout=10).json()["commit"] == 5
