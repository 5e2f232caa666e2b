"""Run a journey's acts in order: mark each, tell the presenter what to say, pause in guided mode."""
from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from license_demo.ui_links import act_urls
from license_demo.journeys.annotations import mark_act
from license_demo.clients import AlertmanagerClient, GrafanaClient, PrometheusClient, ServerClient


@dataclass
class Timeline:
    """Named moments of a run (epoch seconds), measurements and notes, for the report."""

    journey: str
    mode: str
    seed: int
    events: dict = field(default_factory=dict)
    acts: list = field(default_factory=list)
    measurements: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def record(self, event: str, at: float | None = None, **details) -> float:
        """Store `event` at `at` (now by default) unless already recorded; return its time."""
        if event not in self.events:
            self.events[event] = {"at": at or time.time(), **details}
        return self.events[event]["at"]


@dataclass
class JourneyContext:
    """Everything an act needs: the clients, the run's settings and its timeline."""

    server: ServerClient
    prometheus: PrometheusClient | None
    alertmanager: AlertmanagerClient | None
    grafana: GrafanaClient | None
    mode: str = "auto"
    seed: int = 42
    grafana_url: str = "http://localhost:3000"
    workdir: Path = Path("demo-reports")
    alert_timeout: float = 180.0
    out: Callable[[str], None] = print
    pause: Callable[[str], str] = input
    timeline: Timeline | None = None
    # Journey-specific settings from the command line (e.g. the Prometheus data dir).
    options: dict = field(default_factory=dict)
    # Called around each act: on_act_start(ctx, number, act), on_act_end(ctx, number, act)
    # (the pacing clock, the backup deck's screenshots).
    observers: list = field(default_factory=list)
    state: dict = field(default_factory=dict)

    @property
    def rng(self) -> random.Random:
        """The run's random generator, seeded once so a run is reproducible."""
        if "rng" not in self.state:
            self.state["rng"] = random.Random(self.seed)
        return self.state["rng"]

    def require_prometheus(self) -> PrometheusClient:
        """Prometheus client, or a clear error when the journey runs without one."""
        if self.prometheus is None:
            from license_demo.clients import DemoError
            raise DemoError("this journey needs Prometheus: pass --prometheus URL (or start `license-demo stack`)")
        return self.prometheus


@dataclass
class Act:
    """One step of a journey: what happens, what to say, what to show."""

    key: str
    title: str
    run: Callable[[JourneyContext], None]
    say: list[str] = field(default_factory=list)
    show: list[str] = field(default_factory=list)
    automotive: str = ""
    # Reads the live figures `say` lines name ({commit}, ...), before they are printed;
    # the first act's also checks and restores the state the journey needs.
    facts: Callable[[JourneyContext], dict] | None = None


@dataclass
class Journey:
    """A named journey: its acts as data plus the phases its report times."""

    name: str
    title: str
    story: str
    acts: list[Act]
    # (label, from event, to event): the elapsed times the report prints.
    phases: list[tuple[str, str, str]]
    needs_alerting: bool = True
    # The automotive column of the comparison, one entry per phase (default: report.AUTOMOTIVE).
    automotive: list[str] | None = None
    # Called when an act fails: gives back whatever the journey took (seats, faults).
    cleanup: Callable[[JourneyContext], None] | None = None


def run(journey: Journey, ctx: JourneyContext) -> Timeline:
    """Play every act of `journey`; guided mode waits for Enter before each act but the first."""
    ctx.timeline = ctx.timeline or Timeline(journey.name, ctx.mode, ctx.seed)
    ctx.out(f"== {journey.title} ({ctx.mode} mode, seed {ctx.seed}) ==\n{journey.story}\n")
    try:
        _play(journey, ctx)
    except BaseException:
        _stop_background(ctx)
        if journey.cleanup is not None:
            try:
                journey.cleanup(ctx)
                ctx.out("  (stopped early: every seat this run took has been returned)")
            except Exception as exc:  # the original failure is the one to report
                ctx.out(f"  (stopped early; returning the run's seats failed too: {exc}; "
                        "run `license-demo reset`)")
        raise
    _stop_background(ctx)
    return ctx.timeline


def _stop_background(ctx: JourneyContext) -> None:
    """Background load or traffic an act started must not outlive the run."""
    for value in ctx.state.values():
        if callable(getattr(value, "stop", None)):
            value.stop()


def _play(journey: Journey, ctx: JourneyContext) -> None:
    """The acts in order, each marked and recorded in the timeline."""
    for number, act in enumerate(journey.acts, start=1):
        if ctx.mode == "guided" and number > 1:
            try:
                ctx.pause(f"-- press Enter for act {number}: {act.title} --")
            except EOFError:
                pass
        ctx.out(f"\n[act {number}/{len(journey.acts)}] {act.title}")
        started = mark_act(ctx.server, ctx.grafana, journey.name, act.key, act.title, warn=ctx.out)
        for observer in ctx.observers:
            observer.on_act_start(ctx, number, act)
        facts = act.facts(ctx) if act.facts else {}
        if ctx.mode == "guided":
            for url in act_urls(ctx, act.show):
                ctx.out(f"  open: {url}")
            for line in act.say:
                ctx.out(f"  say:  {line.format(**facts)}")
            if act.automotive:
                ctx.out(f"  automotive: {act.automotive}")
        act.run(ctx)
        ctx.timeline.acts.append({"act": act.key, "title": act.title, "started": started,
                                  "ended": time.time()})
        for observer in ctx.observers:
            observer.on_act_end(ctx, number, act)
        sys.stdout.flush()
