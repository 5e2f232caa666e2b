"""`python -m license_server`: loopback by default; the published token is refused on a network."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from license_server.__main__ import is_loopback, parse_args


def test_listens_on_loopback_unless_told_otherwise(monkeypatch):
    """No --host and no HOST: 127.0.0.1; HOST or --host choose another address."""
    monkeypatch.delenv("HOST", raising=False)
    assert parse_args([]).host == "127.0.0.1"
    monkeypatch.setenv("HOST", "0.0.0.0")
    assert parse_args([]).host == "0.0.0.0"
    assert parse_args(["--host", "::1"]).host == "::1"
    assert [is_loopback(h) for h in ("127.0.0.1", "127.0.1.1", "::1", "localhost", "0.0.0.0",
                                     "192.168.1.20", "::", "example.org")] == \
        [True, True, True, True, False, False, False, False]


@pytest.mark.parametrize("source", ["env", "file"])
def test_published_token_beyond_loopback_refuses_to_start(tmp_path, source):
    """0.0.0.0 with demo-admin-token exits at once, saying what to do; nothing listens."""
    env = {k: v for k, v in os.environ.items() if k not in ("ADMIN_TOKEN", "HOST")}
    if source == "env":
        env["ADMIN_TOKEN"] = "demo-admin-token"
    else:
        (tmp_path / "admin-token").write_text("demo-admin-token\n")
        env["ADMIN_TOKEN_FILE"] = str(tmp_path / "admin-token")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'license.db'}"
    done = subprocess.run([sys.executable, "-m", "license_server", "--host", "0.0.0.0",
                           "--port", "1"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "Refusing to listen on 0.0.0.0" in done.stderr
    assert "openssl rand" in done.stderr and "--host 127.0.0.1" in done.stderr
    assert not (tmp_path / "license.db").exists()


def test_make_demo_serves_loopback_by_default():
    """`make demo` passes --host 127.0.0.1 unless HOST is given."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k != "HOST"}
    plain = subprocess.run(["make", "-n", "demo"], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=30).stdout
    shared = subprocess.run(["make", "-n", "demo", "HOST=0.0.0.0"], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=30).stdout
    assert "-m license_server --host 127.0.0.1" in plain
    assert "-m license_server --host 0.0.0.0" in shared


def test_without_the_rule_source_the_server_refuses_to_start(tmp_path):
    """No readable ALERT_RULES_FILE: exit at once naming it, before a database is made."""
    env = {**os.environ, "ALERT_RULES_FILE": str(tmp_path / "rules.src.yml"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'license.db'}"}
    done = subprocess.run([sys.executable, "-m", "license_server", "--port", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"ALERT_RULES_FILE={tmp_path / 'rules.src.yml'}" in done.stderr
    assert "prometheus/rules.src.yml" in done.stderr and "Traceback" not in done.stderr
    # The refusal is all there is: no "License server on ..." or token notes before it.
    assert done.stdout == "" and done.stderr.startswith("Cannot start the license server:"), done
    assert not (tmp_path / "license.db").exists()
    import rule_source
    empty = tmp_path / "empty.yml"
    empty.write_text("settings: {alert_series: {A: {series: up, threshold: high_overage_ratio}}}\n"
                     "rule_groups: [{rules: [{alert: A, expr: up == 0}]}]\n")
    with pytest.raises(ValueError, match="ALERT_RULES_FILE=.* has no high_overage_ratio under settings"):
        rule_source.load(empty, "ALERT_RULES_FILE")
