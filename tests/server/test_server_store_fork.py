"""A Store used across fork() (as gunicorn's master prepares the database, then forks workers):
the child opens its own connection, and the parent's keeps working."""
from __future__ import annotations

import os

from license_server.config import DEFAULTS, load_tools
from license_server.store import Store

BACKEND_PID = "SELECT pg_backend_pid() AS pid"


def in_child(action) -> str:
    """Run `action()` in a forked child; return what it printed (its result or its error)."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            answer = str(action())
        except BaseException as exc:  # report every failure to the parent
            answer = f"error: {exc!r}"
        os.write(write_end, answer.encode())
        # No atexit, no finalisers: they would close the connections the parent still owns.
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        answer = pipe.read()
    os.waitpid(child, 0)
    return answer


def backend_pid(store: Store) -> int:
    """The PostgreSQL server process answering this thread's connection."""
    with store._tx() as run:
        return int(run(BACKEND_PID)[0]["pid"])


def test_forked_child_gets_its_own_postgres_session(pg_cluster):
    """The child's queries run on a new server session; the parent's session survives them."""
    store = Store(pg_cluster.new_database())
    store.init_schema()
    store.seed_tools(load_tools(DEFAULTS["TOOLS_FILE"]))
    parent_pid = backend_pid(store)

    child_answer = in_child(lambda: backend_pid(store))

    assert child_answer.isdigit(), child_answer
    assert int(child_answer) != parent_pid
    assert backend_pid(store) == parent_pid
    assert len(store.list_tools()) == len(load_tools(DEFAULTS["TOOLS_FILE"]))


def test_forked_child_reopens_sqlite(tmp_path):
    """The child does not reuse the parent's SQLite handle, and its writes reach the parent."""
    store = Store(f"sqlite:///{tmp_path / 'fork.db'}")
    store.init_schema()
    store.seed_tools(load_tools(DEFAULTS["TOOLS_FILE"]))
    parent_conn = store._conn()
    tool = store.list_tools()[0]["name"]

    child_answer = in_child(lambda: (store._conn() is not parent_conn, store.borrow(tool, "forked")["user"]))

    assert child_answer == "(True, 'forked')"
    assert store._conn() is parent_conn
    assert [seat["user"] for seat in store.active_borrows(tool=tool)] == ["forked"]
