"""Every committed dashboard type-checks against Grafana's published schema (@grafana/schema).

`make test` installs the pinned @grafana/schema and TypeScript with `npm ci` in
grafana/schema-check/; the schema's major version is the one of the Grafana image in
docker-compose.yml.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from dashboard_schema import to_typescript

REPO = Path(__file__).resolve().parents[2]
CHECK_DIR = REPO / "grafana/schema-check"
JSON_DIR = REPO / "grafana/provisioning/dashboards/json"
TSC = CHECK_DIR / "node_modules/.bin/tsc"


def tsc(dashboards: dict[str, dict]) -> subprocess.CompletedProcess:
    """Run `tsc --noEmit --strict` over one generated .ts file per dashboard."""
    if not TSC.exists():
        pytest.fail("TypeScript and @grafana/schema are not installed: run "
                    "`npm ci --prefix grafana/schema-check` (part of `make test`)")
    # Inside the check folder, so the imports resolve to its node_modules.
    folder = Path(tempfile.mkdtemp(prefix="generated-", dir=CHECK_DIR))
    try:
        files = []
        for name, data in dashboards.items():
            path = folder / f"{Path(name).stem}.ts"
            path.write_text(to_typescript(data))
            files.append(str(path))
        return subprocess.run([str(TSC), "--noEmit", "--strict", "--target", "es2020",
                               "--moduleResolution", "node", *files],
                              capture_output=True, text=True, timeout=120, cwd=CHECK_DIR)
    finally:
        shutil.rmtree(folder)


def test_schema_major_matches_the_grafana_image():
    """The pinned @grafana/schema has the major.minor of the Grafana image compose runs."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    image = compose["services"]["grafana"]["image"]
    grafana = re.fullmatch(r"grafana/grafana:(\d+)\.(\d+)\.\d+", image).groups()
    lock = json.loads((CHECK_DIR / "package-lock.json").read_text())
    schema = lock["packages"]["node_modules/@grafana/schema"]["version"].split(".")[:2]
    assert tuple(schema) == grafana, (image, schema)


def broken_copy() -> dict:
    """The business dashboard with a wrong enum value, an unknown panel key, a legacy key."""
    dash = json.loads((JSON_DIR / "license-business-metrics.json").read_text())
    series = next(p for p in dash["panels"] if p["type"] == "timeseries")
    series["fieldConfig"]["defaults"]["custom"]["drawStyle"] = "wiggle"
    gauge = next(p for p in dash["panels"] if p["type"] == "gauge")
    gauge["heightPx"] = 200
    dash["templating"]["list"][2]["useTags"] = False
    return dash


@pytest.fixture(scope="module")
def checked() -> tuple[dict[str, str], str]:
    """One tsc run over the committed dashboards and the broken copy: errors per file stem."""
    dashboards = {p.name: json.loads(p.read_text()) for p in sorted(JSON_DIR.glob("*.json"))}
    assert len(dashboards) == 3
    done = tsc({**dashboards, "broken.json": broken_copy()})
    errors: dict[str, str] = {}
    for line in done.stdout.splitlines():
        match = re.match(r".*?([\w-]+)\.ts\(\d+,\d+\): error", line)
        if match:
            errors[match.group(1)] = errors.get(match.group(1), "") + line + "\n"
    assert done.returncode != 0 and errors, done.stdout + done.stderr
    return errors, done.stdout


def test_committed_dashboards_type_check(checked):
    """tsc --strict accepts every committed dashboard typed as Grafana's Dashboard and panels."""
    errors, output = checked
    committed = [p.stem for p in JSON_DIR.glob("*.json")]
    assert not [name for name in committed if name in errors], output


def test_type_check_rejects_what_grafana_would_not_read(checked):
    """A wrong enum value, an unknown panel key and a legacy variable key each fail the check."""
    errors, output = checked
    broken = errors.get("broken", "")
    assert '"wiggle"' in broken and "heightPx" in broken and "useTags" in broken, output
