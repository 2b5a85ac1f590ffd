"""The command line: `cityloop simulate history` on an empty database, then `cityloop report …` (reports opened
and rendered, publishing, refresh, a ranking in the terminal, errors as messages)."""

from __future__ import annotations

from datetime import date, timedelta

from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.integration.test_assessment_api import assert_pdf_pages_not_blank


def test_simulate_history_then_reports(tmp_path, monkeypatch):
    from cityloop.cli import _mount_optional, app
    from cityloop.config import get_settings

    monkeypatch.setenv("CITYLOOP_DATABASE_URL", f"sqlite:///{tmp_path / 'sim.db'}")
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    get_settings.cache_clear()
    _mount_optional()
    run = lambda *args: CliRunner().invoke(app, list(args))  # noqa: E731
    try:
        result = run("simulate", "history", "--months", "1", "--per-day", "3")
        assert result.exit_code == 0, result.output
        assert "generated" in result.output
        this_month = date.today().strftime("%Y-%m")
        last_month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        result = run("report", "show", this_month, "--kind", "department")
        assert result.exit_code == 0 and "专业部门 (live" in result.output, result.output
        xlsx, pdf = tmp_path / "m.xlsx", tmp_path / "m.pdf"
        assert run("report", "monthly", this_month, "--format", "xlsx", "--out", str(xlsx)).exit_code == 0
        book = load_workbook(xlsx)
        assert book.sheetnames[:3] == ["概况", "一级部门（县直部门）", "二级单位（乡镇街道）"]
        assert book["一级部门（县直部门）"]["B3"].value  # a department's name under the headers
        result = run("report", "monthly", this_month, "--format", "pdf", "--out", str(pdf))
        assert result.exit_code == 0, result.output
        assert assert_pdf_pages_not_blank(pdf.read_bytes(), tmp_path) >= 3
        result = run("report", "publish", last_month)
        assert result.exit_code == 0 and "published" in result.output, result.output
        again = run("report", "publish", last_month)
        assert again.exit_code == 1 and "already published" in again.output
        assert run("report", "refresh", "--rebuild").exit_code == 0
        bad = run("report", "monthly", "2026-13")
        assert bad.exit_code == 1 and "month must be 1–12" in bad.output
        assert run("report", "monthly", this_month, "--format", "doc").exit_code == 1
    finally:
        get_settings.cache_clear()
