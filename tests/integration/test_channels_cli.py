"""`cityloop channels …` and `cityloop simulate video` on a seeded SQLite file."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityloop.cases.models import Case
from cityloop.channels.cli import app, simulate_app
from cityloop.channels.models import Camera, ChannelKey, GazetteerEntry
from cityloop.channels.service import key_ok
from cityloop.config import Settings, get_settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from tests.conftest import SHANGHAI
from tests.factories import seed_world


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        world = seed_world(session, datetime(2026, 11, 23, 9, tzinfo=SHANGHAI))
    monkeypatch.setenv("CITYLOOP_DATABASE_URL", url)
    monkeypatch.setenv("CITYLOOP_DEMO", "1")
    monkeypatch.setenv("CITYLOOP_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("CITYLOOP_VIDEO_EVENT_CATEGORIES", '{"garbage": "06010", "illegal_parking": "09006"}')
    get_settings.cache_clear()
    yield factory, world
    get_settings.cache_clear()


def test_channels_commands(cli_db, tmp_path):
    factory, world = cli_db
    runner = CliRunner()
    out = runner.invoke(app, ["keys", "add", "open311", "partner"])
    assert out.exit_code == 0, out.output
    raw = out.output.split(":")[-1].strip()
    with factory() as session:
        assert session.scalar(select(ChannelKey.name)) == "partner"
        assert key_ok(session, Settings(demo=False, secret_key="x" * 32), "open311", raw)
        assert not key_ok(session, Settings(demo=False, secret_key="x" * 32), "video", raw)
    lon, lat = world.point("341122100001001")
    gaz = tmp_path / "gaz.csv"
    gaz.write_text(f"name,kind,lon,lat,alias\n人民路,road,{lon},{lat},\n县医院,poi,{lon},{lat},人民医院\n", encoding="utf-8")
    assert runner.invoke(app, ["gazetteer", "load", str(gaz)]).exit_code == 0
    gaz.write_text("name,kind,lon,lat\n人民路,street,1,2\n", encoding="utf-8")
    bad = runner.invoke(app, ["gazetteer", "load", str(gaz)])
    assert bad.exit_code == 1 and "第 2 行" in bad.output
    cams = tmp_path / "cams.csv"
    cams.write_text(f"code,name,lon,lat,site\nC1,一号,{lon},{lat},工地\nC2,二号,{lon},{lat},工地\n", encoding="utf-8")
    assert runner.invoke(app, ["cameras", str(cams)]).exit_code == 0
    sim = runner.invoke(simulate_app, ["--events", "6"])
    assert sim.exit_code == 0, sim.output
    assert runner.invoke(app, ["evidence"]).exit_code == 0
    with factory() as session:
        assert session.scalar(select(func.count(GazetteerEntry.id))) == 2
        assert session.scalar(select(func.count(Camera.code))) == 2
        videos = session.scalar(select(func.count(Case.id)).where(Case.source == "video"))
    assert 1 <= videos <= 6 and "新案件 / new cases" in sim.output
