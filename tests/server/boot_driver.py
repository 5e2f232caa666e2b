"""Boot `python -m license_server` many times in a row and report the boots that failed.

Run as a script by test_server_startup.py (a fresh process without threads, so forking is
safe; the test's timeout bounds it). Each boot forks this process (the libraries are
imported once, so a boot costs the server's own start-up, not the interpreter's) and runs
the real `license_server.__main__.main()` on a fresh SQLite file. A boot counts as up when
/readyz answers and every worker has built its app (each leaves its metric files, named by
pid, in the multiprocess folder); it fails when the master exits first or time runs out.

    python tests/server/boot_driver.py --boots 50 --workers 4 --out /tmp/boots

With --init-race N it instead forks 8 processes N times that each open, create and seed one
new SQLite file at the same instant (what every worker does at boot), and reports failures.

    python tests/server/boot_driver.py --init-race 20 --out /tmp/race
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

# Libraries the workers import, loaded before forking; prometheus_client is not among them:
# it must see PROMETHEUS_MULTIPROC_DIR, which each boot sets.
import flask  # noqa: F401
import flask_smorest  # noqa: F401
import marshmallow  # noqa: F401
import yaml  # noqa: F401

from license_server.__main__ import main as server_main


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ready(url: str) -> bool:
    """Whether GET url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


def worker_pids(folder: Path) -> set[str]:
    """Pids of the workers that have created their metric files."""
    try:
        return {m.group(1) for name in os.listdir(folder) if (m := re.search(r"_(\d+)\.db$", name))}
    except OSError:
        return set()


def stop(pid: int) -> None:
    """Kill the master and its workers at once: only the boot is under test, not the shutdown."""
    kill_group(pid)
    os.waitpid(pid, 0)


def kill_group(pid: int) -> None:
    """SIGKILL every process of the group `pid` leads, if any is left."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def boot(base: Path, index: int, workers: int, timeout: float) -> dict:
    """Start one server, wait until it is fully up, stop it; return what happened."""
    folder = base / f"boot-{index:03d}"
    folder.mkdir(parents=True)
    port, log = free_port(), folder / "server.log"
    metrics_dir = folder / "metrics"
    pid = os.fork()
    if pid == 0:  # the child becomes the gunicorn master, in its own process group
        os.setsid()
        fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.environ.update(DATABASE_URL=f"sqlite:///{folder / 'license.db'}",
                          PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), LEASE_REAP_INTERVAL="0")
        try:
            server_main(["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)])
        finally:
            os._exit(1)
    started = time.monotonic()
    outcome = {"boot": index, "up": False, "seconds": None, "exit": None}
    try:
        while time.monotonic() - started < timeout:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                outcome["exit"] = os.waitstatus_to_exitcode(status)
                kill_group(pid)  # workers the master left behind, if any
                break
            if len(worker_pids(metrics_dir)) >= workers and ready(f"http://127.0.0.1:{port}/readyz"):
                outcome.update(up=True, seconds=round(time.monotonic() - started, 2))
                break
            time.sleep(0.05)
    finally:
        if outcome["exit"] is None:
            stop(pid)
    if not outcome["up"]:
        outcome["log"] = log.read_text(errors="replace")[-2000:]
    return outcome


def init_race(base: Path, rounds: int, processes: int = 8) -> dict:
    """`processes` forks initialise one fresh file together, `rounds` times; count the failures."""
    from license_server.config import DEFAULTS, load_tools
    from license_server.store import Store
    catalog = load_tools(DEFAULTS["TOOLS_FILE"])
    failures = []
    for round_ in range(rounds):
        url = f"sqlite:///{base / f'fresh-{round_}.db'}"
        go_read, go_write = os.pipe()
        children = []
        for _ in range(processes):
            pid = os.fork()
            if pid == 0:
                os.close(go_write)
                os.read(go_read, 1)  # all start at the same instant: when the pipe closes
                try:
                    store = Store.from_url(url)
                    store.init_schema()
                    store.seed_tools(catalog)
                    os._exit(0)
                except Exception as exc:
                    print(f"round {round_}: {exc!r}", flush=True)
                    os._exit(3)
            children.append(pid)
        os.close(go_read)
        os.close(go_write)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
        failures += [f"round {round_}: exit {code}" for code in codes if code != 0]
        if len(Store.from_url(url).list_tools()) != len(catalog):
            failures.append(f"round {round_}: catalog not seeded")
    return {"rounds": rounds, "processes": processes, "failed": failures}


def main(argv=None) -> int:
    """Boot the server --boots times (or run --init-race); print a JSON summary; exit 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boots", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds allowed per boot")
    parser.add_argument("--init-race", type=int, metavar="ROUNDS",
                        help="race worker initialisation on fresh files instead of booting")
    parser.add_argument("--out", type=Path, required=True, help="folder for databases and logs")
    args = parser.parse_args(argv)
    if args.init_race:
        summary = init_race(args.out, args.init_race)
        print(json.dumps(summary))
        return 1 if summary["failed"] else 0
    outcomes = [boot(args.out, i, args.workers, args.timeout) for i in range(args.boots)]
    failed = [o for o in outcomes if not o["up"]]
    times = sorted(o["seconds"] for o in outcomes if o["up"])
    print(json.dumps({"boots": len(outcomes), "failed": failed,
                      "median_seconds": times[len(times) // 2] if times else None,
                      "max_seconds": times[-1] if times else None}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
