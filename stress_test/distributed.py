"""Distributed runs: Locust's master and workers, with the run's accounts exact across them.

The master (`--processes N`, or `--master` for workers on other machines) runs no users.
When a worker connects it sends the run's settings and the worker's index; each user a
worker starts asks the master for its slot (its engineer), so the users of all workers are
the planned workers, each once, as in a local run. It merges the
accounts the workers send (counts, seats held, new latencies) into its own run state, so the
live line, the capacity stages, the end of the budget and the summary see the whole run. To
stop, it tells every worker to finish the operations in hand and return the seats it holds,
waits for their final accounts, and returns itself whatever the merged ledger still holds
(a worker whose return failed, or that died). Locust's own messages carry all of it:

  license_ready     worker -> master  registered to take the run (sent once connected)
  license_settings  master -> worker  {"settings", "overage_costs", "index", "workers"}
  license_slot      worker -> master  {"request"}: a slot for a starting user;
                    master -> worker  {"request", "slot"} (slot None: no planned worker left)
  license_release   worker -> master  {"slot"}: a stopped user's slot (spike's pooled budget)
  license_account   worker -> master  the worker's account (cumulative counts, new latencies)
  license_stop      master -> worker  stop; the worker answers with its final account
"""
from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import time
from collections import Counter, defaultdict
from dataclasses import asdict

import gevent
import gevent.event
from locust.env import Environment
from locust.event import Events

from stress_test import seats
from stress_test.locustfile import USER_CLASSES
from stress_test.run_state import RunState, Seat, Tally, run_of
from stress_test.settings import RunSettings

READY, SETTINGS, ACCOUNT, STOP = "license_ready", "license_settings", "license_account", "license_stop"
SLOT, RELEASE = "license_slot", "license_release"
# Seconds between a worker's accounts: the master sees the end of the budget this late at most.
ACCOUNT_INTERVAL = 0.5
# How long the master waits for the workers' final accounts before returning seats itself.
FINAL_TIMEOUT = 30.0
# How long --processes waits for its forked workers to connect.
CONNECT_TIMEOUT = 60.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now, for the master of --processes."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# --- the worker's side ----------------------------------------------------------------

def account(run: RunState, final: bool = False) -> dict:
    """What this worker did so far; latencies only since the previous account."""
    new, run.unsent_latencies = run.unsent_latencies, defaultdict(list)
    return {"final": final, "started": run.quota.started, "finished": run.quota.finished,
            "tallies": {tool: asdict(tally) for tool, tally in run.tallies.items()},
            "held": [asdict(seat) for seat in run.held.values()],
            "requests": run.requests, "failures": run.failures,
            "failure_reasons": dict(run.failure_reasons), "retries": run.retries,
            "retry_reasons": dict(run.retry_reasons), "already_returned": run.already_returned,
            "cleanup_returned": run.cleanup_returned, "latencies": dict(new)}


def worker_run(data: dict, slot_source, slot_release) -> RunState:
    """The worker's run state for the settings and share the master sent."""
    settings = RunSettings.from_dict(data["settings"])
    index, workers = data["index"], data["workers"]
    pooled = settings.mode == "spike"
    share = None
    if pooled:
        # The spike's users come and go on every worker: each spends its share of the budget.
        total = settings.profile.workers * settings.profile.ops
        share = total // workers + (1 if index < total % workers else 0) if index < workers else 0
    return RunState.create(settings, pooled=pooled, open_ended=settings.web or bool(settings.capacity),
                           overage_costs=data["overage_costs"], total=share,
                           slot_source=slot_source, slot_release=slot_release)


class Worker:
    """One Locust worker process of a distributed run."""

    def __init__(self, master_host: str, master_port: int, out):
        """Connect to the master; the run starts when its settings arrive."""
        self.out = out
        self.environment = Environment(user_classes=list(USER_CLASSES.values()), events=Events())
        self.runner = self.environment.create_worker_runner(master_host, master_port)
        self.runner.register_message(SETTINGS, self.on_settings)
        self.runner.register_message(STOP, self.on_stop, concurrent=True)
        self.runner.register_message(SLOT, self.on_slot)
        self.slots: dict[int, gevent.event.AsyncResult] = {}
        self.requests = itertools.count()
        self.environment.events.quitting.add_listener(self.on_quitting)
        # Connected once the runner exists; only now can the settings be received.
        self.runner.send_message(READY)
        self.reporter: gevent.Greenlet | None = None
        self.stopped = False

    @property
    def run(self) -> RunState | None:
        """The run's state, once the master has sent the settings."""
        return run_of(self.environment)

    def on_settings(self, environment, msg, **_kwargs) -> None:
        """Build the run from the master's settings and start reporting to it."""
        run = worker_run(msg.data, self.claim_slot,
                         lambda slot: self.runner.send_message(RELEASE, {"slot": slot}))
        run.unsent_latencies = defaultdict(list)
        run.attach(environment)
        self.reporter = gevent.spawn(self.report)
        settings = run.settings
        self.out(f"Worker {msg.data['index'] + 1} of {msg.data['workers']}: {settings.profile.name}, "
                 f"{settings.mode}, {settings.tool_label} against {settings.target}; users come "
                 "from the master")

    def claim_slot(self) -> int | None:
        """A slot from the master for a starting user (None: every planned worker exists)."""
        request = next(self.requests)
        answer = self.slots[request] = gevent.event.AsyncResult()
        self.runner.send_message(SLOT, {"request": request})
        try:
            return answer.get(timeout=30)
        except gevent.Timeout:
            return None
        finally:
            self.slots.pop(request, None)

    def on_slot(self, environment, msg, **_kwargs) -> None:
        """The master's answer to a slot request."""
        answer = self.slots.get(msg.data["request"])
        if answer is not None:
            answer.set(msg.data["slot"])

    def report(self) -> None:
        """Send this worker's account to the master until the run stops."""
        while not self.stopped:
            gevent.sleep(ACCOUNT_INTERVAL)
            if not self.stopped:
                self.runner.send_message(ACCOUNT, account(self.run))

    def finish(self) -> None:
        """Stop taking operations, let those in hand end, return held seats, send the final account."""
        run = self.run
        if run is None or self.stopped:
            return
        run.quota.close()
        run.stopping.set()
        deadline = time.monotonic() + 15
        while run.quota.in_flight and time.monotonic() < deadline:
            gevent.sleep(0.05)
        self.stopped = True
        if run.settings.returns_seats and run.held:
            seats.return_held(run)
        try:
            # Locust's own statistics go every 3 s; flush them first, so the master's report,
            # written once the final accounts are in, holds every request (messages keep order).
            self.runner._send_stats()
            self.runner.send_message(ACCOUNT, account(run, final=True))
        except Exception as exc:  # noqa: BLE001  a master already gone returns the rest itself
            self.out(f"Worker: could not send the final account to the master ({exc})")

    def on_stop(self, environment, msg, **_kwargs) -> None:
        """The master stops the run."""
        self.finish()

    def on_quitting(self, environment, **_kwargs) -> None:
        """The master is gone (or quit): nothing may stay borrowed by this worker."""
        self.finish()

    def serve(self) -> int:
        """Run until the master sends quit; Ctrl-C stops this worker's part cleanly."""
        def leave() -> None:
            self.finish()
            self.runner.quit()

        def interrupted() -> None:
            self.out("Stopping this worker: returning its seats, then leaving the run...")
            gevent.spawn(leave)
        handlers = [gevent.signal_handler(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)]
        try:
            self.runner.greenlet.join()
        finally:
            for handler in handlers:
                handler.cancel()
        run = self.run
        self.out("Worker: the run has ended" + (f"; {run.quota.finished} operations made here, "
                                                 f"{len(run.held)} seat(s) still held" if run else ""))
        return 0


def run_worker(master_host: str, master_port: int, out=print) -> int:
    """`--worker --master-host H`: serve a master's run; return the exit code."""
    logging.getLogger("locust").setLevel(logging.WARNING)
    out(f"Worker: connecting to the master at {master_host}:{master_port} ...")
    try:
        worker = Worker(master_host, master_port, out)
    except OSError as exc:
        out(f"Worker: cannot reach the master at {master_host}:{master_port} ({exc}); start it "
            "with --master first, or check --master-host and --master-port")
        return 2
    return worker.serve()


def fork_workers(count: int, master_port: int) -> list[int]:
    """`--processes N`: fork N workers for a master on 127.0.0.1; the pids, in the parent.

    Like Locust's own --processes; each child ignores Ctrl-C, which the master handles for
    the whole run, and exits when the master sends quit.
    """
    children = []
    for _ in range(count):
        pid = gevent.fork()
        if pid:
            children.append(pid)
            continue
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = 1
        try:
            worker = Worker("127.0.0.1", master_port, lambda _text: None)
            worker.runner.greenlet.join()
            code = 0
        finally:
            os._exit(code)
    return children


def reap(children: list[int], timeout: float = 10.0) -> None:
    """Wait for forked workers to exit; kill any still there after `timeout`."""
    deadline = time.monotonic() + timeout
    for pid in children:
        while True:
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if not done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


# --- the master's side ----------------------------------------------------------------

class Master:
    """The master's merge of the workers' accounts into its run state."""

    def __init__(self, environment, run: RunState, overage_costs: dict[str, float]):
        """Listen to the workers of `environment`'s master runner on behalf of `run`."""
        self.environment, self.run, self.runner = environment, run, environment.runner
        self.overage_costs = overage_costs
        self.accounts: dict[str, dict] = {}
        self.given: set[str] = set()  # workers that have the run's settings
        self.closed = False
        self.runner.register_message(ACCOUNT, self.on_account)
        self.runner.register_message(READY, self.on_ready)
        self.runner.register_message(SLOT, self.on_slot)
        self.runner.register_message(RELEASE, lambda msg, **_kw: run.quota.release_slot(msg.data["slot"]))

    def on_slot(self, environment, msg, **_kwargs) -> None:
        """Give a worker's starting user the next slot of the run's budget."""
        slot = None if self.closed else self.run.quota.claim_slot()
        self.runner.send_message(SLOT, {"request": msg.data["request"], "slot": slot},
                                 client_id=msg.node_id)

    def on_ready(self, environment, msg, **_kwargs) -> None:
        """Hand a ready worker the run's settings and its index."""
        client_id = msg.node_id
        settings = self.run.settings
        self.runner.send_message(SETTINGS, {
            "settings": settings.to_dict(), "overage_costs": self.overage_costs,
            "index": self.runner.get_worker_index(client_id),
            "workers": max(1, settings.workers_expected)}, client_id=client_id)
        self.given.add(client_id)

    def wait_for_workers(self, expected: int, out, timeout: float | None) -> bool:
        """Wait until `expected` workers are ready; False on timeout or Ctrl-C."""
        deadline = None if timeout is None else time.monotonic() + timeout
        shown = -1
        while len(self.given) < expected:
            ready = len(self.given)
            if ready != shown:
                out(f"Waiting for workers: {ready} of {expected} connected ...")
                shown = ready
            if self.run.stopping.is_set() or (deadline and time.monotonic() > deadline):
                return False
            gevent.sleep(0.1)
        out(f"{expected} workers connected.")
        return True

    def on_account(self, environment, msg, **_kwargs) -> None:
        """Merge one worker's account into the run state."""
        if self.closed:
            return
        data = msg.data
        for name, values in data.pop("latencies").items():
            self.run.latencies[name].extend(values)
            self.run.recent.extend(values)
        self.accounts[msg.node_id] = data
        self.merge()

    def merge(self) -> None:
        """The run state as the sum of the workers' latest accounts."""
        run, accounts = self.run, list(self.accounts.values())
        run.quota.started = sum(a["started"] for a in accounts)
        run.quota.finished = sum(a["finished"] for a in accounts)
        tallies: dict[str, Tally] = defaultdict(Tally)
        for a in accounts:
            for tool, fields in a["tallies"].items():
                tallies[tool] = tallies[tool].add(Tally(**fields))
        run.tallies = tallies
        run.held = {seat["id"]: Seat(**seat) for a in accounts for seat in a["held"]}
        for name in ("requests", "failures", "retries", "already_returned", "cleanup_returned"):
            setattr(run, name, sum(a[name] for a in accounts))
        run.failure_reasons = sum((Counter(a["failure_reasons"]) for a in accounts), Counter())
        run.retry_reasons = sum((Counter(a["retry_reasons"]) for a in accounts), Counter())

    def stop_workers(self, out) -> None:
        """Stop every worker; wait for their final accounts, then close the merge."""
        workers = [client.id for client in self.runner.clients.all]
        self.runner.send_message(STOP)
        deadline = time.monotonic() + FINAL_TIMEOUT
        while time.monotonic() < deadline:
            if all(self.accounts.get(worker, {}).get("final") for worker in workers):
                break
            gevent.sleep(0.05)
        else:
            missing = [w for w in workers if not self.accounts.get(w, {}).get("final")]
            out(f"{len(missing)} worker(s) sent no final account; the master returns the seats "
                "they were last known to hold")
        self.closed = True

