"""The Dockerfile builds the image compose and Fly run: base, user, install, health check, command."""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_dockerfile():
    """python:3.11-slim, non-root, installs the project, health check, gunicorn via the module."""
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert re.search(r"^USER app$", text, re.M) and "useradd" in text
    assert "pip install ." in text
    assert re.search(r"HEALTHCHECK .*\n.*127\.0\.0\.1:8000/healthz", text)
    assert 'CMD ["python", "-m", "license_server", "--host", "0.0.0.0"]' in text
    assert "PORT=8000" in text and "DATABASE_URL=sqlite:////data/license.db" in text
    for source in re.findall(r"^COPY (.+) \S+$", text, re.M):
        for path in source.split():
            assert (REPO / path).exists(), f"COPY {path}: missing"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored and "README.md" not in ignored


def test_image_ships_the_rule_source_where_rules_source_file_points():
    """The server refuses to start without the rule source: the image copies it to the path
    RULES_SOURCE_FILE names (the default of ALERT_RULES_FILE), and ships the package reading it."""
    text = (REPO / "Dockerfile").read_text()
    workdir = Path(re.search(r"^WORKDIR (\S+)$", text, re.M).group(1))
    copied = {workdir / dest: source for source, dest in re.findall(r"^COPY (\S+) (\S+)$", text, re.M)}
    rules_file = Path(re.search(r"RULES_SOURCE_FILE=(\S+)", text).group(1))
    assert copied.get(rules_file) == "prometheus/rules.src.yml", (rules_file, copied)
    assert copied.get(workdir / "rule_source") == "rule_source", copied
