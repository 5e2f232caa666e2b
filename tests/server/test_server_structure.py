"""The layout of license_server: no import circle, leaf modules, seat events in one module,
and a core that runs with the demo package absent."""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import license_server

PACKAGE = Path(license_server.__file__).resolve().parent
# The seat-event counters of metrics.py: only events.py may touch them.
SEAT_COUNTERS = {"BORROW_SUCCESS", "OVERAGE_CHECKOUTS", "BORROW_FAILURES", "RETURNS", "OVERAGE_COST",
                 "CHECKOUTS_BY_USER", "LEASE_EXPIRATIONS", "FORCE_RETURNS", "CONFIG_CHANGES"}
SEAT_EVENTS = {"borrow", "borrow_rejected", "return", "lease_expired", "force_return", "config_change"}


def module_name(path: Path) -> str:
    """license_server/demo/faults.py -> license_server.demo.faults."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Our modules `path` imports anywhere in it, function-level imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                # `from license_server import events` imports the module events, not the package.
                found.add(inner if inner in known else node.module)
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    """Module -> our modules it imports."""
    known = modules()
    return {name: imports_of(path, set(known)) - {name} for name, path in known.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path of module names, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_cycle_finder_sees_a_circle():
    """The finder itself: a -> b -> c -> a is reported, a tree is not."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circle_in_license_server():
    """No module reaches itself through our imports, function-level ones included."""
    edges = graph()
    assert "license_server.events" in edges and "license_server.demo.faults" in edges
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_metrics_and_allocation_are_leaves():
    """metrics.py and allocation.py import nothing of ours."""
    edges = graph()
    assert edges["license_server.metrics"] == set()
    assert edges["license_server.allocation"] == set()


def test_core_does_not_import_the_demo_package():
    """Only the demo package imports itself; create_app looks it up by name, if installed."""
    edges = graph()
    users = {name for name, targets in edges.items()
             if any(t == "license_server.demo" or t.startswith("license_server.demo.") for t in targets)}
    assert {name for name in users if not name.startswith("license_server.demo")} == set()


def test_only_events_touches_the_seat_counters_and_lines():
    """Seat counters are incremented and seat log lines written in events.py alone."""
    offenders = []
    for name, path in modules().items():
        if name in ("license_server.events", "license_server.metrics"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in SEAT_COUNTERS:
                offenders.append(f"{name}: {node.attr}")
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "log_event"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in SEAT_EVENTS):
                offenders.append(f"{name}: log_event({node.args[0].value!r})")
    assert offenders == []


BLOCKED_CORE = textwrap.dedent("""
    import importlib.abc, json, sys, tempfile

    class HideDemo(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "license_server.demo" or name.startswith("license_server.demo."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, HideDemo())
    from license_server import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/license.db",
                      "ADMIN_TOKEN": "t", "LEASE_REAP_INTERVAL": 0, "INCIDENT_CHECK_INTERVAL": 0})
    client = app.test_client()
    borrow = client.post("/api/borrow", json={"tool": "MathWorks - MATLAB/Simulink", "user": "ana", "team": "powertrain"})
    print(json.dumps({
        "demo_loaded": any(m.startswith("license_server.demo") for m in sys.modules),
        "borrow": borrow.status_code, "seat": borrow.get_json().get("tool"),
        "faults": client.get("/api/faults").status_code,
        "status": client.get("/api/status").get_json(),
        "metrics": client.get("/metrics").get_data(as_text=True),
    }))
""")


def test_core_runs_without_the_demo_package():
    """With license_server.demo unimportable, the app starts, borrows, serves /metrics and has no
    demo endpoints."""
    import json
    done = subprocess.run([sys.executable, "-c", BLOCKED_CORE], capture_output=True, text=True,
                          timeout=60, cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["demo_loaded"] is False
    assert (result["borrow"], result["seat"]) == (201, "MathWorks - MATLAB/Simulink")
    assert result["faults"] == 404
    assert result["status"]["version"]
    assert 'license_borrow_success_total{tool="MathWorks - MATLAB/Simulink"} 1.0' in result["metrics"]
    assert "license_server_build_info{" in result["metrics"]
    assert "license_fault_active" not in result["metrics"]
