"""`cityloop public …` on a seeded SQLite file: import points, generate placements, print a sheet, run the dialer."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityloop.config import get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.public.cli import app
from cityloop.public.models import CallAttempt, CallCampaign, QrPlacement, ServicePoint
from tests.conftest import SHANGHAI
from tests.factories import seed_world
from tests.integration.public_kit import add_ad_matter, open_case
from cityloop.shared.clock import SystemClock


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        world = seed_world(session, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
    for key, value in {"DATABASE_URL": url, "DEMO": "1", "MEDIA_DIR": str(tmp_path / "media")}.items():
        monkeypatch.setenv(f"CITYLOOP_{key}", value)
    get_settings.cache_clear()
    yield factory, world
    get_settings.cache_clear()


def test_public_commands(cli_db, tmp_path):
    factory, world = cli_db
    runner = CliRunner()
    lon, lat = world.point("341122100001001")
    csv = tmp_path / "points.csv"
    csv.write_text(f"code,kind,name,lon,lat,hours\nGC1,公厕,第1号公厕,{lon},{lat},24h\n", encoding="utf-8")
    result = runner.invoke(app, ["points", "import", str(csv)])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,kind,name,lon,lat\nX,castle,城堡,1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["points", "import", str(bad)])
    assert result.exit_code == 1 and "line 2" in result.output
    result = runner.invoke(app, ["placements", "generate", "--batch", "B1", "--per-grid", "2"])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "b1.pdf"
    result = runner.invoke(app, ["placements", "sheet", "--batch", "B1", "-o", str(pdf)])
    assert result.exit_code == 0 and pdf.read_bytes().startswith(b"%PDF")
    assert runner.invoke(app, ["placements", "sheet", "--batch", "none", "-o", str(pdf)]).exit_code == 1
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(ServicePoint)) == 1
        assert session.scalar(select(func.count()).select_from(QrPlacement)) == 10  # 5 grids × 2


def test_dial_command_calls_the_due_numbers(cli_db, monkeypatch):
    """Working time all day today (periods and an override), so the due call is made whenever the test runs."""
    from cityloop.sla.models import CalendarOverride

    factory, world = cli_db
    monkeypatch.setenv("CITYLOOP_WORK_PERIODS", '["00:00-23:59"]')
    get_settings.cache_clear()
    now = datetime.now(timezone.utc)
    with factory() as session:
        add_ad_matter(session)
        session.add(CalendarOverride(day=now.astimezone(SHANGHAI).date(), is_workday=True, note="test"))
        case = open_case(session, get_settings(), SystemClock(), world)
        session.add(CallCampaign(case_id=case.id, phone="13800001111", status="running", started_by_name="t",
                                 started_at=now - timedelta(minutes=5), calls=0, answered=0,
                                 plan={"levels": [[1, 3]], "max_days": 10, "max_calls": 1, "min_gap_minutes": 1},
                                 next_call_at=now - timedelta(minutes=1)))
        session.commit()
    result = CliRunner().invoke(app, ["dial"])  # demo mode: the simulated gateway
    assert result.exit_code == 0 and "calls made: 1" in result.output, result.output
    with factory() as session:
        campaign = session.scalars(select(CallCampaign)).one()
        assert session.scalar(select(func.count()).select_from(CallAttempt)) == 1
        assert (campaign.status, campaign.stop_reason) == ("ended", "limit")  # max_calls 1
    assert "calls made: 0" in CliRunner().invoke(app, ["dial"]).output
