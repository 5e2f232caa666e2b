"""HTML pages: the live dashboard and the admin config form (login, CSRF, change history)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   session, url_for)
from marshmallow import ValidationError

from license_server import auth, config_changes, events, token_guard
from license_server.db import get_store
from license_server.schemas import ToolFormSchema

bp = Blueprint("pages", __name__)

FIELD_LABELS = {"commit": "commit seats", "max_overage": "max overage seats",
                "overage_cost": "overage cost ($)", "commit_cost_monthly": "commit cost ($/month)"}


@bp.record_once
def configure_session(state):
    """Sign sessions with a random key all workers share, never derived from the admin token.

    SECRET_KEY when given; otherwise one generated on first start and kept in the database,
    so every gunicorn worker, instance and restart signs and checks cookies alike.
    """
    app = state.app
    if not app.secret_key:
        app.secret_key = app.extensions["store"].session_key()
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


def token_digest() -> str:
    """A keyed digest of the current ADMIN_TOKEN: sessions from before a token change stop working."""
    token = (current_app.config.get("ADMIN_TOKEN") or "").encode()
    key = current_app.secret_key
    return hmac.new(key.encode() if isinstance(key, str) else key, token, hashlib.sha256).hexdigest()


def is_admin() -> bool:
    """Whether this request carries a live admin session: logged in, not logged out, not expired,
    and started under the ADMIN_TOKEN the server has now."""
    session_id = session.get("sid")
    if not session.get("admin") or not session_id or not admin_token_configured():
        return False
    row = get_store().admin_session(session_id)
    if row is None:
        return False
    fresh = time.time() - float(row["created_at"]) < current_app.config["ADMIN_SESSION_SECONDS"]
    return fresh and hmac.compare_digest(row["token_digest"], token_digest())


def admin_token_configured() -> bool:
    """Whether the server was started with an admin token at all."""
    return bool(current_app.config.get("ADMIN_TOKEN"))


def csrf_token() -> str:
    """This session's CSRF token, created on first use."""
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


@bp.app_context_processor
def inject_csrf():
    """Make csrf_token() and the field labels available to every template."""
    return {"csrf_token": csrf_token, "field_labels": FIELD_LABELS}


@bp.app_template_filter("plain_number")
def plain_number(value):
    """150.0 as 150, 12.5 as 12.5: what a person would type into the form."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@bp.before_request
def check_csrf(form_page: str = "/config"):
    """Refuse any POST to the pages whose form token does not match the session's.

    `form_page` is where the form is, named in the sentence (a login or logout elsewhere
    gives the session a new token, so the open form's one is stale).
    """
    if request.method != "POST":
        return None
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf_token", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "This form is missing its security token or it has expired. "
                   f"Reload {form_page} and submit the form again.")
    return None


@bp.get("/")
def index():
    """The presenter's entry point is the dashboard."""
    return redirect(url_for("pages.dashboard"))


@bp.get("/dashboard")
def dashboard():
    """Live seat usage per tool; the page refreshes itself from /api/tools."""
    return render_template("pages/dashboard.html", tools=get_store().list_tools(),
                           refresh_ms=current_app.config.get("DASHBOARD_REFRESH_MS", 3000))


def render_config(errors=None, values=None, status=200):
    """The config page: the login form for visitors, the tool forms and history for admins."""
    if not is_admin():
        return render_template("pages/login.html", configured=admin_token_configured(),
                               error=(errors or {}).get("token")), status
    return render_template("pages/config.html", tools=get_store().list_tools(),
                           history=get_store().config_history(limit=50),
                           errors=errors or {}, values=values or {},
                           actor=session.get("actor", "admin")), status


@bp.get("/config")
def config():
    """Show the config page (or the login form)."""
    return render_config()


@bp.post("/config/login")
def login():
    """Check the typed admin token; on success start a server-side admin session."""
    if not admin_token_configured():
        return render_config(status=403)
    wait = token_guard.retry_after()
    if wait is not None:
        response = current_app.make_response(render_config(
            {"token": f"Too many wrong tokens from this address: wait {wait} s, then try again."},
            status=429))
        response.headers["Retry-After"] = str(wait)
        return response
    if not auth.admin_token_matches(request.form.get("token", "")):
        token_guard.record_failure()
        return render_config({"token": "That admin token is not right. Type the value of "
                                       "ADMIN_TOKEN the server was started with."}, status=401)
    name = auth.actor_name(request.form.get("name"), "admin")
    previous = session.get("sid")
    if previous:
        get_store().end_admin_session(previous)
    session.clear()
    # A fresh CSRF token at login, so a token seen before login is worthless after it.
    session["csrf_token"] = secrets.token_urlsafe(32)
    session["admin"] = True
    session["actor"] = name
    session["sid"] = get_store().create_admin_session(token_digest(), name)
    return redirect(url_for("pages.config"))


@bp.post("/config/logout")
def logout():
    """End the admin session on the server, so a copy of the cookie is worthless too."""
    if session.get("sid"):
        # Also sweeps sessions past their lifetime.
        get_store().end_admin_session(
            session["sid"], older_than=time.time() - current_app.config["ADMIN_SESSION_SECONDS"])
    session.clear()
    flash("Logged out.")
    return redirect(url_for("pages.config"))


@bp.post("/config")
def update():
    """Apply one tool's form row; on bad input show the row again with the typed values."""
    if not is_admin():
        return render_config({"token": "Log in with the admin token first."}, status=401)
    name = request.form.get("tool", "")
    tool = next((t for t in get_store().list_tools() if t["name"] == name), None)
    if tool is None:
        abort(404, f"There is no tool named {name!r}. Reload /config and pick a tool from it.")
    typed = {field: request.form.get(field, "").strip() for field in events.CONFIG_FIELDS}
    try:
        wanted = ToolFormSchema().load(typed)
    except ValidationError as exc:
        errors = {field: messages[0] for field, messages in exc.messages.items()}
        return render_config({name: errors}, {name: typed}, status=400)
    changes = {field: value for field, value in wanted.items() if value != tool[field]}
    if not changes:
        flash(f"Nothing changed for {name}.")
        return redirect(url_for("pages.config"))
    config_changes.apply(get_store(), name, changes, session.get("actor", "admin"), source="config form")
    flash(f"Saved {name}: " + ", ".join(
        f"{FIELD_LABELS[field]} {plain_number(tool[field])} → {plain_number(value)}"
        for field, value in changes.items()))
    return redirect(url_for("pages.config"))
