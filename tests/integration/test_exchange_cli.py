"""`cityloop exchange report-month` queues the county's own monthly figures; `cityloop exchange status` shows them
waiting; bad months and a missing upstream are messages, not tracebacks."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from cityloop.db import make_engine, make_session_factory
from cityloop.exchange.models import OutboxRow
from cityloop.db.migrate import upgrade
from tests.integration.test_backup import two_databases  # noqa: F401


def test_report_month_and_status(two_databases, monkeypatch):  # noqa: F811
    from cityloop.cli import _mount_optional, app
    from cityloop.config import get_settings

    url, _ = two_databases
    upgrade(url)
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.delenv("CITYLOOP_EXCHANGE_UPSTREAM_URL", raising=False)
    get_settings.cache_clear()
    _mount_optional()
    run = lambda *args: CliRunner().invoke(app, list(args))  # noqa: E731
    try:
        assert run("exchange", "report-month", "2026-11").exit_code == 2  # no upper platform
        monkeypatch.setenv("CITYLOOP_EXCHANGE_UPSTREAM_URL", "http://city.example/api/v1/exchange/batches")
        get_settings.cache_clear()
        bad = run("exchange", "report-month", "2026-13")
        assert bad.exit_code == 2 and "YYYY-MM" in bad.output
        ok = run("exchange", "report-month", "2026-11")
        assert ok.exit_code == 0, ok.output
        assert json.loads(ok.output)["reported"] == 0
        status = run("exchange", "status")
        assert status.exit_code == 0 and json.loads(status.output)["uplink"]["pending"] == 1
        engine = make_engine(url)
        with make_session_factory(engine)() as s:
            row = s.scalar(select(OutboxRow))
            assert row.kind == "assessment.monthly" and row.body["key"] == "2026-11"
        engine.dispose()
    finally:
        get_settings.cache_clear()
