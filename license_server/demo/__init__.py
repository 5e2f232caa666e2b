"""Demo controls: fault switches, deployments, act markers, browser error reports and the
collector of their state. The core server runs without this package; create_app calls
init_app when it is installed.
"""
from __future__ import annotations


def init_app(app) -> None:
    """Register the demo blueprints (with the app's Api), their hooks and their collector, and
    make the build info follow the newest demo deployment."""
    from license_server.demo import acts, client_errors, collector, deployments, faults

    store = app.extensions["store"]
    rest = app.extensions["rest_api"]
    for blueprint in (faults.bp, deployments.bp, client_errors.bp, acts.bp):
        rest.register_blueprint(blueprint)
    app.extensions["metrics_collectors"].append(collector.DemoStateCollector(store))
    app.extensions["build_info"] = lambda: deployments.current_build(store, app.config)
