"""`cityloop report method show/check` and `cityloop report annual` from the command line."""

from __future__ import annotations

from datetime import date

from openpyxl import load_workbook
from typer.testing import CliRunner


def _run(*args):
    from cityloop.cli import _mount_optional, app

    _mount_optional()
    return CliRunner().invoke(app, list(args))


def test_method_check_and_show(tmp_path, monkeypatch):
    from cityloop.config import get_settings

    monkeypatch.setenv("CITYLOOP_ASSESSMENT_METHOD_FILE", "deployed")
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    get_settings.cache_clear()
    try:
        assert _run("report", "method", "check", "reference").exit_code == 0
        shown = _run("report", "method", "show")
        assert shown.exit_code == 0 and '"valid_reports_plus_missed"' in shown.output and "约谈" in shown.output
        bad = tmp_path / "bad.toml"
        bad.write_text('[bands]\ndepartment = [[50, 100]]\n', "utf-8")
        result = _run("report", "method", "check", str(bad))
        assert result.exit_code == 1 and "考核办法文件无效" in result.output and "above" in result.output
    finally:
        get_settings.cache_clear()


def test_annual_command(tmp_path, monkeypatch):
    from cityloop.config import get_settings

    monkeypatch.setenv("CITYLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'sim.db'}")
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    get_settings.cache_clear()
    try:
        assert _run("simulate", "history", "--months", "1", "--per-day", "3").exit_code == 0
        out = tmp_path / "y.xlsx"
        result = _run("report", "annual", "--year", str(date.today().year), "--out", str(out))
        assert result.exit_code == 0, result.output
        sheet = load_workbook(out).active
        assert sheet["B2"].value == "单位" and sheet["P2"].value == "年度得分" and sheet["B3"].value
    finally:
        get_settings.cache_clear()
