"""Run the load with Locust as a library: environment, local runner, live line, clean stop."""
from __future__ import annotations

import logging
import os
import signal
import time
from argparse import Namespace

import gevent
from locust.argument_parser import default_args_dict
from locust.env import Environment
from locust.event import Events

from stress_test import distributed, reports, seats
from stress_test.live import print_live
from stress_test.locustfile import USER_CLASSES
from stress_test.run_state import RunState
from stress_test.settings import RunSettings
from stress_test.capacity_shape import CapacityShape
from stress_test.shapes import SpikeShape

# Users finish the operation in hand when the run stops (a held seat gets returned);
# a user still busy after this long is killed and the leftover seats are returned directly.
STOP_TIMEOUT = 15.0


def locust_options(settings: RunSettings) -> Namespace:
    """Locust's parsed options for a library run (its defaults plus this run's values)."""
    options = Namespace(**default_args_dict())
    options.host = settings.target
    options.num_users = settings.profile.workers
    options.spawn_rate = settings.profile.workers
    # Not headless: a shape that runs out stops the runner, and this module ends the run.
    options.headless = False
    options.stop_timeout = STOP_TIMEOUT
    return options


def build_environment(settings: RunSettings, overage_costs: dict[str, float],
                      out=print) -> tuple[Environment, RunState]:
    """A Locust environment with the mode's user class (and shape), and the run state attached."""
    user_class = USER_CLASSES[settings.mode]
    spike = settings.mode == "spike"
    shape = (CapacityShape(settings.capacity, out) if settings.capacity else
             SpikeShape(peak=settings.profile.workers, stop_when_done=False) if spike else None)
    environment = Environment(
        user_classes=[user_class], events=Events(), host=settings.target, shape_class=shape,
        stop_timeout=STOP_TIMEOUT, parsed_options=locust_options(settings),
        available_user_classes={user_class.__name__: user_class})
    environment.locustfile = "stress_test/locustfile.py"  # named in the HTML report
    run = RunState.create(settings, pooled=spike, open_ended=settings.web or bool(settings.capacity),
                          overage_costs=overage_costs)
    run.attach(environment)
    return environment, run


class Interrupts:
    """Ctrl-C (and SIGTERM): the first stops the run cleanly, a second exits at once."""

    def __init__(self, run: RunState, out):
        """Watch for signals on behalf of `run`."""
        self.run, self.out, self.count = run, out, 0
        self.handlers = [gevent.signal_handler(sig, self.on_signal)
                         for sig in (signal.SIGINT, signal.SIGTERM)]

    def on_signal(self) -> None:
        """Stop gently the first time; exit immediately the second."""
        self.count += 1
        if self.count == 1:
            what = ("finishing operations in hand and returning held seats"
                    if self.run.settings.returns_seats else "finishing operations in hand")
            self.out(f"\nStopping: {what} (Ctrl-C again to exit at once)...")
            self.run.stopping.set()
            return
        held = len(self.run.held)
        self.out(f"\nExiting at once; {held} seat(s) stay borrowed"
                 + (" until their lease ends" if self.run.settings.lease_seconds else ""))
        os._exit(130)

    def close(self) -> None:
        """Stop watching."""
        for handler in self.handlers:
            handler.cancel()


def wait_for_end(run: RunState, settings: RunSettings, shape=None) -> str:
    """Block until the budget is spent, a capacity bound, Ctrl-C, or --max-seconds; return which."""
    deadline = time.monotonic() + settings.max_seconds
    while True:
        if run.quota.done:
            return "done"
        if getattr(shape, "finished", None):
            return shape.finished
        if run.stopping.is_set():
            return "interrupted"
        if time.monotonic() >= deadline:
            return "max-seconds"
        gevent.sleep(0.1)


def start_load(environment, runner, run: RunState, settings: RunSettings, master, out) -> str | None:
    """Start the users (or the web UI); a reason to stop at once, or None."""
    if master is not None and not master.wait_for_workers(
            settings.workers_expected, out,
            timeout=distributed.CONNECT_TIMEOUT if settings.processes else None):
        return "interrupted" if run.stopping.is_set() else "no-workers"
    if settings.web:
        # Locust's web UI re-reads the command line: this runs in stress_test.web_run.
        environment.create_web_ui("127.0.0.1", settings.web_port)
        out(f"Locust web UI: http://127.0.0.1:{settings.web_port}  (start the test there; "
            "Ctrl-C here stops it, returns held seats and prints the summary)")
    elif environment.shape_class is not None:
        runner.start_shape()
    else:
        # Every worker at once: a user that finishes early is never replaced.
        runner.start(settings.profile.workers, spawn_rate=settings.profile.workers)
    return None


def execute(settings: RunSettings, overage_costs: dict[str, float], out=print) -> tuple[RunState, str]:
    """Run the load to its end and return the run state and why it stopped.

    With `settings.workers_expected` this process is the master of Locust workers (forked
    here for --processes); with `settings.report_dir`, Locust's reports go to a new folder
    there, named in `run.report`.
    """
    logging.getLogger("locust").setLevel(logging.WARNING)
    environment, run = build_environment(settings, overage_costs, out)
    children = distributed.fork_workers(settings.processes, settings.master_port)
    master = None
    if settings.workers_expected:
        runner = environment.create_master_runner(settings.master_bind_host, settings.master_port)
        master = distributed.Master(environment, run, overage_costs)
    else:
        runner = environment.create_local_runner()
    folder = reports.run_folder(settings.report_dir, settings.target, settings.profile.name) \
        if settings.report_dir else None
    locust_reports = reports.LocustReports(folder) if folder else None
    interrupts = Interrupts(run, out)
    live = gevent.spawn(print_live, run, out)
    try:
        if locust_reports:
            locust_reports.start(environment)
        stopped_by = start_load(environment, runner, run, settings, master, out) \
            or wait_for_end(run, settings, environment.shape_class)
        run.quota.close()
        run.stopping.set()
        if master is not None:
            master.stop_workers(out)
        runner.quit()
        if settings.returns_seats and run.held:
            out(f"Returning {len(run.held)} seat(s) still held...")
            seats.return_held(run)
        if locust_reports:
            run.report = locust_reports.finish(environment)
    finally:
        live.kill()
        interrupts.close()
        if environment.web_ui and environment.web_ui.server:
            environment.web_ui.stop()
        distributed.reap(children)
    return run, stopped_by
