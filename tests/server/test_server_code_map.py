"""docs/code-map.md names only what exists: modules, functions and contract names."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "license_server"


def section(title: str) -> str:
    """The text of one `## title` section of the code map."""
    text = (ROOT / "docs" / "code-map.md").read_text()
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def module_file(name: str) -> Path | None:
    """The file of a module named as in the map (`faults`, `demo.init_app`'s `demo`), if any."""
    for candidate in (PACKAGE / f"{name}.py", PACKAGE / "demo" / f"{name}.py", PACKAGE / name / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def exists(token: str, sources: str, contracts: str) -> bool:
    """A path, a module.attribute, or a name found in the server's code or its contracts."""
    if token.startswith("/"):  # a URL path: documented in the contracts
        return token in contracts or token.rsplit("/", 1)[0] in contracts
    if "/" in token or token.endswith(".py"):
        return any((base / token).exists() for base in (ROOT, PACKAGE, PACKAGE / "demo"))
    dotted = re.fullmatch(r"(\w+)\.(\w+)", token)
    if dotted and re.search(rf"^class {dotted[1]}\b", sources, re.M):  # Class.method
        return re.search(rf"^\s+def {dotted[2]}\b", sources, re.M) is not None
    if dotted and module_file(dotted[1]):
        return re.search(rf"^\s*(def|class) {dotted[2]}\b|^{dotted[2]} =", module_file(dotted[1]).read_text(), re.M) is not None
    return token in sources or token in contracts


def test_every_name_in_the_license_server_section_exists():
    """Each `quoted` name of the section is a file, a definition, or a name in the code or contracts."""
    sources = "\n".join(path.read_text() for path in PACKAGE.rglob("*.py"))
    contracts = (ROOT / "docs" / "contracts.md").read_text()
    tokens = set(re.findall(r"`([^`]+)`", section("license_server")))
    assert len(tokens) > 40
    missing = sorted(token for token in tokens if not exists(token, sources, contracts))
    assert missing == []
    assert not exists("events.no_such_function", sources, contracts)
    assert not exists("no_such_module.py", sources, contracts)
