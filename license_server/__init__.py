"""The license server: create_app builds the Flask app for gunicorn, tests and the CLI.

Nothing here imports prometheus_client at module level: under gunicorn the master must
not create metric values before PROMETHEUS_MULTIPROC_DIR is set (see __main__.py).
"""
from __future__ import annotations

import importlib
import threading
import time

from flask import Flask, g, request

import rule_source


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: settings, logging, database, API, pages, metrics."""
    from license_server import (alerts, api, approvals, build, db, error_pages, health, incident_api,
                                incident_pages, incident_rule, logs, metrics, openapi, overview, pages,
                                reaper, request_limits, status, story_store, tracing)
    from license_server.config import from_environment, load_tools

    app = Flask(__name__)
    app.config.update(from_environment())
    if test_config:
        app.config.update(test_config)

    logs.setup(app, on_drop=metrics.LOG_LINES_DROPPED.inc)
    # Before the database (its connections get statement spans) and every request hook (the
    # request's span is current in all of them). Under gunicorn post_fork has started it already.
    tracing.check(app.config)
    tracing.start(app.config)
    tracing.init_app(app)
    # The rule source, read once here: the webhook's alert names, what the incident rule decides with.
    rules = rule_source.load(app.config["ALERT_RULES_FILE"], "ALERT_RULES_FILE")
    app.extensions["alert_names"] = rules.alert_names
    app.extensions["incident_policy"] = incident_rule.Policy.from_rules(
        rules, app.config["INCIDENT_VERIFY_SECONDS"], app.config["INCIDENT_MIN_BORROWS"])
    store = db.init_app(app, load_tools(app.config["TOOLS_FILE"]))
    metrics.init_series([tool["name"] for tool in store.list_tools()])
    story_store.init(store)

    @app.before_request
    def begin():
        logs.start_request()

    # Right after begin(): before every blueprint's hook (the demo faults read borrow bodies) and view.
    request_limits.init_app(app)

    @app.after_request
    def end(response):
        rule = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.observe_request(rule, request.method, response.status_code,
                                time.perf_counter() - g.get("started", time.perf_counter()))
        return logs.finish_request(response, rule)

    rest = openapi.init_app(app)
    for blueprint in (health.bp, api.bp, alerts.bp, incident_api.api_bp, overview.bp, status.bp):
        rest.register_blueprint(blueprint)
    error_pages.register(app)
    for blueprint in (metrics.bp, pages.bp, incident_pages.bp, approvals.bp):
        app.register_blueprint(blueprint)
    app.extensions["build_info"] = build.build_info_reader(app)
    # The reader is looked up at each scrape: the demo package may replace it.
    app.extensions["metrics_collectors"] = [
        metrics.StoreCollector(store, lambda: app.extensions["build_info"]())]
    demo = demo_package()
    if demo is not None:
        demo.init_app(app)

    # Both loops end when the app is stopped (stop_background); gunicorn workers just exit.
    stop = app.extensions["background_stop"] = threading.Event()
    threads = [reaper.start(store, app.config["LEASE_REAP_INTERVAL"], app.config["IDEMPOTENCY_SECONDS"],
                            stop=stop),
               incident_rule.start(store, app.extensions["incident_policy"],
                                       app.config["INCIDENT_CHECK_INTERVAL"], stop=stop)]
    app.extensions["background_threads"] = [thread for thread in threads if thread is not None]
    return app


def stop_background(app: Flask, timeout: float = 10.0) -> None:
    """Stop the app's lease sweeper and incident checks and wait for them (at most `timeout` s each)."""
    app.extensions["background_stop"].set()
    for thread in app.extensions["background_threads"]:
        thread.join(timeout)


def demo_package():
    """license_server.demo when it is installed, else None (the core runs without it)."""
    try:
        return importlib.import_module("license_server.demo")
    except ModuleNotFoundError as exc:
        if exc.name != "license_server.demo":  # a missing module inside the demo is a bug
            raise
        return None
