"""`journey --record` on a machine without Chromium: a clear error before the first act."""
from __future__ import annotations

from license_demo import browser, cli


def test_record_without_chromium_stops_before_the_first_act(native_stack, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    code = cli.main(["journey", "overage-crisis", "--mode", "auto", "--server", native_stack.server_url,
                     "--admin-token", native_stack.admin_token, "--record", str(tmp_path / "deck"),
                     "--report-dir", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 2
    assert f"error: {tmp_path / 'no-chromium'} is missing: install Debian's chromium package" in out
    assert "[act 1/6]" not in out and not (tmp_path / "reports").exists()
