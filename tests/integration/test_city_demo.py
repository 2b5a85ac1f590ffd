"""`cityloop demo --city` builds 咸阳市: its 14 districts/counties with their GB/T 2260 codes, a city center and a
district center in each, 21 municipal departments, level rules and a history whose monthly assessment ranks
the districts and the departments (a short history here)."""

from __future__ import annotations

from datetime import datetime, timezone
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from cityloop.assessment import service, tasks
from cityloop.assessment.periods import last_month
from cityloop.cases.models import Case, CaseEvent
from cityloop.city.models import LevelRule
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.demo.city import build_city_demo, city_logins
from cityloop.geo.models import Region
from cityloop.org.models import Department, User
from cityloop.org.security import verify_password

XIANYANG = {"610402": "秦都区", "610403": "杨陵区", "610404": "渭城区", "610422": "三原县", "610423": "泾阳县",
            "610424": "乾县", "610425": "礼泉县", "610426": "永寿县", "610428": "长武县", "610429": "旬邑县",
            "610430": "淳化县", "610431": "武功县", "610481": "兴平市", "610482": "彬州市"}


@pytest.mark.slow
def test_city_demo(tmp_path):
    url = f"sqlite:///{tmp_path / 'city.db'}"
    settings = Settings(database_url=url, demo=True, media_dir=tmp_path / "media",
                        map_tiles_path=tmp_path / "basemap-city.mbtiles")
    out = StringIO()
    build_city_demo(settings, Console(file=out, width=200), days=40, per_day=18)
    assert "city demo built" in out.getvalue() and "real boundaries" in out.getvalue()
    assert "base map built" in out.getvalue() and (tmp_path / "basemap-city.mbtiles").exists()
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        districts = dict(s.execute(select(Region.code, Region.name).where(Region.level == "district")).all())
        assert districts == XIANYANG
        assert "示意" in s.get(Region, "610402001001").name  # the drawn streets and communities say so
        groups = dict(s.execute(select(Department.group, func.count()).group_by(Department.group)).all())
        assert groups == {"class1": 21, "class2": 14}
        centers = dict(s.execute(select(User.district_code, func.count()).where(User.district_code.is_not(None))
                                 .group_by(User.district_code)).all())
        assert centers == dict.fromkeys(XIANYANG, 3)
        assert s.scalar(select(func.count(LevelRule.id))) >= 4
        levels = set(s.execute(select(Case.district_code, Case.handling_district).distinct()).all())
        assert {d for d, _ in levels} == set(XIANYANG)  # cases in every district/county
        assert ("610402", None) in levels and ("610422", "610422") in levels  # the city's and a district's
        moves = set(s.scalars(select(CaseEvent.action).where(CaseEvent.action.in_(["hand_down", "escalate"]))))
        assert moves == {"hand_down", "escalate"}
        users = {u.username: u for u in s.scalars(select(User).where(User.username.in_(
            ["admin", "lead1", "qd_op", "bz_lead", "xp_disp", "cgj", "swjt", "inspector14"])))}
        assert len(users) == 8 and all(verify_password("demo", u.password_hash) for u in users.values())
        assert users["qd_op"].district_code == "610402" and users["lead1"].district_code is None
    now = datetime.now(timezone.utc)
    tasks.refresh_once(engine, make_session_factory(engine), settings, now)
    period = last_month(now.astimezone(ZoneInfo(settings.timezone)).date())
    with make_session_factory(engine)() as s:
        rows = service.compute(s, settings, period, ["district", "department"], now)[0]
    ranked = {r["object_id"] for r in rows["district"] if r["rank"]}
    assert ranked == set(XIANYANG)
    city_departments = [r for r in rows["department"] if r["group"] == "class1" and r["score"] is not None]
    assert len(city_departments) == 21 and any(r["rank"] for r in city_departments)
    engine.dispose()
    assert "qd_op" in city_logins()


def test_demo_city_switch_is_offered():
    from cityloop.cli import app

    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0 and "--city" in result.output
