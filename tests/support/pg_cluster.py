"""A private PostgreSQL 15 cluster for the tests: loopback port, throwaway folder, one database per test.

The session fixture `pg_cluster` (tests/conftest.py) starts one; tests ask it for fresh databases.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from .processes import free_port

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class PgCluster:
    """A throwaway PostgreSQL server on loopback; one fresh database per test."""

    def __init__(self, base: Path, port: int, run_as: list[str]):
        """Remember where the cluster lives and how to run its binaries."""
        self.base, self.port, self.run_as = base, port, run_as

    def url(self, database: str) -> str:
        """The connection URL of `database` on this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg
        name = f"race_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def log_tail(self) -> str:
        """The end of the server log, for failure messages."""
        try:
            return (self.base / "postgres.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def run_pg(cluster_argv: list[str], what: str, log: Path | None = None) -> None:
    """Run a PostgreSQL binary; fail the session with its output when it does not succeed."""
    done = subprocess.run(cluster_argv, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
        pytest.fail(f"PostgreSQL {what} failed ({' '.join(cluster_argv)}):\n"
                    f"{done.stdout}\n{done.stderr}\n{tail}", pytrace=False)


def start_cluster():
    """Start a private PostgreSQL cluster (unix socket in its folder, a free loopback port)."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL binaries not found in {PG_BIN}: install them with "
                    "`apt-get install postgresql-15` or point PG_BIN at the folder holding "
                    "initdb and pg_ctl.", pytrace=False)
    # The folder must be reachable by the postgres user: mkdtemp in /tmp, not pytest's 0700 tree.
    base = Path(tempfile.mkdtemp(prefix="license-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root.
        shutil.chown(base, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, log = base / "data", base / "postgres.log"
    run_pg(run_as + [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                     "-E", "UTF8", "--no-sync"], "initdb")
    port = free_port()
    options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c max_connections=300")
    run_pg(run_as + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                     "-o", options, "start"], "start", log)
    yield PgCluster(base, port, run_as)
    subprocess.run(run_as + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                   capture_output=True, timeout=60)
    shutil.rmtree(base, ignore_errors=True)


