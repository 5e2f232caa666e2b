"""Each journey in auto mode on the native stack: its alerts fire, its fix resolves them, every phase timed."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from license_demo import alert_wait, cli
from license_demo.journeys import journey_runner, timeline_report
from license_demo.clients import AlertmanagerClient, DemoError, PrometheusClient, ServerClient
from license_demo.journeys.catalogue import JOURNEYS
from support.processes import free_port, spawn, wait_http

pytestmark = pytest.mark.stack


def fresh_context(stack, tmp_path: Path, lines: list, prometheus_url: str | None = None) -> journey_runner.JourneyContext:
    """A rehearsal context on the shared stack, after a reset and with every fault off."""
    server = ServerClient(stack.server_url, stack.admin_token)
    server.reset()
    for fault in server.faults():
        if fault["variant"] != "off":
            server.set_fault(fault["name"], "off")
    return journey_runner.JourneyContext(server=server, prometheus=PrometheusClient(prometheus_url or stack.prometheus_url),
                          alertmanager=AlertmanagerClient(stack.alertmanager_url), grafana=None,
                          mode="auto", seed=42, workdir=tmp_path, alert_timeout=120,
                          out=lines.append)


def settle(ctx: journey_runner.JourneyContext, *alertnames: str) -> None:
    """Wait until alerts left by earlier tests on the shared stack are gone (pending included)."""
    alert_wait.ensure_quiet(ctx.server, ctx.alertmanager, ctx.prometheus, alertnames, 150,
                            out=lambda line: None)


def assert_complete(name: str, timeline: journey_runner.Timeline) -> dict:
    """The report has every phase timed, in order, and says so."""
    data = timeline_report.to_json(JOURNEYS[name], timeline)
    assert data["complete"], data["phases"]
    for phase in data["phases"]:
        assert phase["seconds"] is not None and phase["seconds"] >= 0, phase
    assert [a["act"] for a in data["acts"]] == [a.key for a in JOURNEYS[name].acts]
    markdown = timeline_report.to_markdown(JOURNEYS[name], timeline)
    assert "Cloud DevOps vs automotive" in markdown and "not reached" not in markdown
    return data


def test_bug_journey_rollback_stops_failures(native_stack, tmp_path):
    """The faulty deployment trips BorrowFailureSpike; the logs hold the failing request ids."""
    lines: list[str] = []
    ctx = fresh_context(native_stack, tmp_path, lines)
    settle(ctx, "BorrowFailureSpike")
    timeline = journey_runner.run(JOURNEYS["bug-journey"], ctx)
    data = assert_complete("bug-journey", timeline)
    assert 0.3 < data["measurements"]["failed_share_during_incident"] < 0.7
    assert data["measurements"]["failed_after_rollback"] == 0
    failed = ctx.state["failed_request_ids"]
    log = (Path(native_stack.data_dir) / "license-server" / "license-server.log").read_text()
    logged = [json.loads(line) for line in log.splitlines() if failed[0] in line and line.startswith("{")]
    assert any(entry.get("event") == "borrow_rejected" and entry.get("reason") == "server_error"
               for entry in logged), logged
    deployments = ctx.server.call("GET", "/api/deployments").json()
    assert [e["action"] for e in deployments["history"][-2:]] == ["deploy", "rollback"]
    assert all(f["variant"] == "off" for f in ctx.server.faults())


def test_friday_crisis_through_the_cli(native_stack, tmp_path, capsys):
    """`license-demo journey friday-crisis --mode auto` writes a complete report."""
    ctx = fresh_context(native_stack, tmp_path, [])
    settle(ctx, "LicensesExhausted", "SingleUserHoarding")
    code = cli.main(["journey", "friday-crisis", "--mode", "auto", "--server", native_stack.server_url,
                     "--admin-token", native_stack.admin_token, "--prometheus", native_stack.prometheus_url,
                     "--alertmanager", native_stack.alertmanager_url, "--report-dir", str(tmp_path),
                     "--alert-timeout", "120"])
    out = capsys.readouterr().out
    assert code == 0, out
    report_json = json.loads(next(tmp_path.glob("friday-crisis-*.json")).read_text())
    assert report_json["complete"], report_json["phases"]
    m = report_json["measurements"]
    assert m["seats_force_returned"] == m["seats_taken_by_script"] > 10
    assert m["seats_free_after_script"] == 0 and m["top_holder"] == "ci-nightly-build"
    assert {"LicensesExhausted_received", "SingleUserHoarding_received",
            "LicensesExhausted_resolved", "SingleUserHoarding_resolved"} <= set(report_json["events"])
    markdown = next(tmp_path.glob("friday-crisis-*.md")).read_text()
    assert "| detection | problem started | alert received |" in markdown
    assert "Cloud DevOps vs automotive" in markdown


@pytest.fixture(scope="module", autouse=True)
def history_prometheus(tmp_path_factory):
    """A Prometheus keeping 60 days, started with the module: it loads new blocks once a minute,
    so starting it early lets that minute pass while the other journeys run."""
    prometheus_bin = shutil.which("prometheus")
    assert prometheus_bin, "install the prometheus Debian package"
    folder = tmp_path_factory.mktemp("history-prometheus")
    port = free_port()
    (folder / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n")
    proc = spawn("prometheus", [prometheus_bin, f"--config.file={folder / 'prometheus.yml'}",
                                f"--storage.tsdb.path={folder / 'data'}",
                                "--storage.tsdb.retention.time=60d",
                                f"--web.listen-address=127.0.0.1:{port}"], folder / "prometheus.log")
    wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30, proc=proc.proc)
    yield {"url": f"http://127.0.0.1:{port}", "data_dir": folder / "data"}
    proc.stop()


def test_capacity_planning_backfills_a_running_prometheus(native_stack, history_prometheus, tmp_path):
    """The month goes into a running Prometheus's data dir and the decision comes from it."""
    lines: list[str] = []
    ctx = fresh_context(native_stack, tmp_path, lines, prometheus_url=history_prometheus["url"])
    ctx.options["prometheus_data"] = str(history_prometheus["data_dir"])
    timeline = journey_runner.run(JOURNEYS["capacity-planning"], ctx)
    data = assert_complete("capacity-planning", timeline)
    m = data["measurements"]
    month = ctx.state["history"]
    tool = "Vector - DaVinci Configurator SE"
    assert m["overage_cost_month_prometheus"] == pytest.approx(month.total(tool, "cost"))
    assert m["peak_seats_in_use"] == max(s["in_use"] for s in month.usage[tool])
    extra = m["recommended_extra_commit"]
    assert extra > 0 and m["saving_per_month"] > 0
    assert ctx.server.tool(tool)["commit"] == month.tools[tool]["commit"] + extra


def test_capacity_planning_refuses_a_short_retention(native_stack, tmp_path):
    """A Prometheus keeping 2 days would delete the month: the journey says so before writing."""
    folder, port = tmp_path / "short", free_port()
    folder.mkdir()
    (folder / "prometheus.yml").write_text("global:\n  scrape_interval: 15s\n")
    proc = spawn("prometheus", [shutil.which("prometheus"), f"--config.file={folder / 'prometheus.yml'}",
                                f"--storage.tsdb.path={folder / 'data'}", "--storage.tsdb.retention.time=2d",
                                f"--web.listen-address=127.0.0.1:{port}"], folder / "prometheus.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=30, proc=proc.proc)
        ctx = fresh_context(native_stack, tmp_path, [], prometheus_url=f"http://127.0.0.1:{port}")
        ctx.options["prometheus_data"] = str(tmp_path / "unused")
        with pytest.raises(DemoError, match="retention.time=35d"):
            journey_runner.run(JOURNEYS["capacity-planning"], ctx)
    finally:
        proc.stop()
    assert not (tmp_path / "unused").exists()
