"""The lines between the parts, as docs/code-map.md draws them, hold for every import of the repository.

The code map's "Boundaries" tables are the one statement of which part may import which (and,
inside `license_demo`, which layer may import which); this test reads them and checks every
`import` and `from ... import` of every Python file, lazy imports inside functions included.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CODE_MAP = REPO / "docs" / "code-map.md"
# Folders that hold no source of ours (virtualenvs, build output, npm packages).
SKIPPED = {"build", "dist", "node_modules", "__pycache__", "test-artifacts", "data"}


def _table(title: str) -> dict[str, set[str] | None]:
    """The rows of the Boundaries table whose header starts with `title`: name -> allowed
    names (None: every one), read from the backticked names of each cell."""
    text = CODE_MAP.read_text()
    section = text.split("\n## Boundaries\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {title}"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        first, allowed = [cell.strip() for cell in line.strip("|").split("|")][:2]
        names = re.findall(r"`([^`]+)`", first)
        targets = None if "everything" in allowed else set(re.findall(r"`([^`]+)`", allowed))
        for name in names:
            rows[name] = targets
    return rows


PARTS = _table("part")
LAYERS = _table("`license_demo` module")


def python_files() -> list[Path]:
    """Every Python file of the repository outside hidden and generated folders."""
    return sorted(path for path in REPO.rglob("*.py")
                  if not any(part.startswith(".") or part in SKIPPED
                             for part in path.relative_to(REPO).parts[:-1]))


def module_name(path: Path, root: Path = REPO) -> str:
    """The dotted module name of a file under `root` (a package's __init__ is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str, root: Path = REPO) -> bool:
    """Whether `dotted` names a module or package under `root`."""
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def imports(path: Path, root: Path = REPO) -> list[tuple[int, str]]:
    """(line, imported module) of every import in `path`, lazy ones too; `from a import b`
    counts as a.b when b is a module of ours."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, root)
    package = here.rsplit(".", 1)[0] if path.name != "__init__.py" else here
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if is_module(full, root) else base))
    return list(dict.fromkeys(found))


def part_of(dotted: str) -> str | None:
    """The part a module belongs to (None: not ours, e.g. a library)."""
    top = dotted.split(".")[0]
    return top if top in PARTS else None


def layer_of(dotted: str) -> str | None:
    """The `license_demo` layer row a license_demo module belongs to (None: the package itself)."""
    names = dotted.split(".")
    return names[1] if len(names) > 1 else None


def crossings(paths: list[Path], root: Path = REPO) -> list[str]:
    """Every import of `paths` (files under `root`) that crosses a line the code map does not draw."""
    bad = []
    for path in paths:
        here = module_name(path, root)
        source = part_of(here)
        for line, target in imports(path, root):
            where = f"{path.relative_to(root)}:{line} imports {target}"
            other = part_of(target)
            if other is None or other == source:
                if source == other == "license_demo" and layer_of(here) and layer_of(target):
                    mine, theirs = layer_of(here), layer_of(target)
                    allowed = LAYERS.get(mine, set())
                    if mine != theirs and allowed is not None and theirs not in allowed:
                        bad.append(f"{where}: license_demo.{mine} may import only "
                                   f"{sorted(allowed) or 'itself'} of license_demo")
                continue
            allowed = PARTS.get(source, set())
            if allowed is not None and other not in allowed:
                bad.append(f"{where}: {source} may import only {sorted(allowed) or 'nothing of ours'}")
    return bad


def test_every_part_and_license_demo_module_is_in_the_code_map():
    """A new top-level part or license_demo module needs its line in the map first."""
    parts = {module_name(path).split(".")[0] for path in python_files()}
    assert parts <= set(PARTS), f"not in docs/code-map.md's Boundaries: {sorted(parts - set(PARTS))}"
    modules = {module_name(path).split(".")[1] for path in python_files()
               if module_name(path).startswith("license_demo.")}
    assert modules <= set(LAYERS), f"license_demo modules missing from the layer table: {sorted(modules - set(LAYERS))}"
    named = {name for targets in [*PARTS.values(), *LAYERS.values()] if targets for name in targets}
    assert named <= set(PARTS) | set(LAYERS), f"the tables name unknown parts: {sorted(named - set(PARTS) - set(LAYERS))}"


def test_no_import_crosses_a_line_the_code_map_does_not_draw():
    """license_demo never imports license_server, the dashboards only the rule source, the
    bottom layer of license_demo nothing above it, ... exactly as the map's tables say."""
    assert crossings(python_files()) == []


# The demo CLI's process helpers, which the tests do not borrow (they have tests/support/processes.py).
BORROWED = "license_demo.stack.processes"


def borrowed_process_helpers(paths: list[Path], root: Path = REPO) -> list[str]:
    """Every import of BORROWED by a file of `paths` under tests/."""
    return [f"{path.relative_to(root)}:{line} imports {target}"
            for path in paths if path.relative_to(root).parts[0] == "tests"
            for line, target in imports(path, root)
            if target == BORROWED or target.startswith(BORROWED + ".")]


def test_the_tests_start_their_processes_with_their_own_helpers():
    """No test imports license_demo.stack.processes: they use support.processes, and the native
    stack (license_demo.stack.stack) only as the product under test."""
    assert borrowed_process_helpers(python_files()) == []


@pytest.mark.parametrize("code", [
    "from license_demo.stack.processes import free_port\n",
    "from license_demo.stack import processes\n",
    "def later():\n    import license_demo.stack.processes\n",
])
def test_a_borrowed_process_helper_is_found(tmp_path, code):
    """The check sees the helpers imported by name, as a module and lazily (in a scratch tree)."""
    (tmp_path / "license_demo" / "stack").mkdir(parents=True)
    (tmp_path / "license_demo" / "stack" / "processes.py").write_text("")
    probe = tmp_path / "tests" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(code)
    assert len(borrowed_process_helpers([probe], tmp_path)) == 1


@pytest.mark.parametrize("code, message", [
    ("from license_server.loki_push import PUSH_PATH\n", "license_demo may import only"),
    ("def later():\n    import license_server.alerts\n", "license_demo may import only"),
    ("from ..journeys import timeline_report\n", "license_demo.deck may import only"),
])
def test_a_crossing_is_found_also_when_lazy_or_relative(tmp_path, code, message):
    """The check sees an import inside a function and a relative one (in a scratch tree)."""
    probe = tmp_path / "license_demo" / "deck" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(code)
    found = crossings([probe], tmp_path)
    assert len(found) == 1 and message in found[0], found
