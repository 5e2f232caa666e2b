"""An installed server finds its resources: every data file of the packages is package data,
every package-data pattern matches a file, and the defaults point into the package."""
from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from license_server.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DATA = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]


def data_files(package: str) -> set[Path]:
    """Files of `package` (its subfolders included) that are not Python source or caches."""
    folder = ROOT / package
    return {path.relative_to(folder) for path in folder.rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}


def test_package_data_patterns_cover_the_data_files_and_match_something():
    """A template, script or catalog left out would be missing from an installed server."""
    for package, patterns in PACKAGE_DATA.items():
        matched = {path.relative_to(ROOT / package) for pattern in patterns
                   for path in (ROOT / package).glob(pattern) if path.is_file()}
        assert data_files(package) <= matched, f"{package}: not in package-data: {data_files(package) - matched}"
        for pattern in patterns:
            assert any((ROOT / package).glob(pattern)), f"{package}: package-data {pattern!r} matches nothing"


def test_default_tools_file_is_package_data():
    """TOOLS_FILE defaults to the catalog inside the imported package, not to a checkout path."""
    assert Path(DEFAULTS["TOOLS_FILE"]) == Path(str(resources.files("license_server") / "tools.yaml"))
    assert Path(DEFAULTS["TOOLS_FILE"]).is_file()
