"""`cityloop demo` builds the Lai'an county: real towns and communities, grids, duty grids, staff, departments
and a history driven through the workflow (a short one here)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
import re

from rich.console import Console
from sqlalchemy import func, inspect, select, text

from cityloop.cases.models import Case, CaseEvent
from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.demo.build import build_demo, demo_logins
from cityloop.geo.models import DutyGrid, DutyGridInspector, Region, UnitGrid
from cityloop.org.models import Department, User, UserRole
from cityloop.org.security import verify_password
from cityloop.sensors.models import Alarm, PublicWarning


def test_demo_county(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    settings = Settings(database_url=url, demo=True, media_dir=tmp_path / "media")
    out = StringIO()
    build_demo(settings, Console(file=out), days=4, per_day=12)
    assert "demo built" in out.getvalue()
    with make_session_factory(make_engine(url))() as s:
        count = lambda stmt: s.scalar(select(func.count()).select_from(stmt.subquery()))  # noqa: E731
        towns = dict(s.execute(select(Region.code, Region.name).where(Region.level == "street")).all())
        assert len(towns) == 12 and towns["341122100"] == "新安镇" and towns["341122103"] == "汊河镇"
        assert count(select(Region).where(Region.level == "community")) == 149
        assert s.get(Region, "341122100001").name == "北门社区"
        grids = count(select(UnitGrid))
        assert 1500 < grids < 6000 and count(select(UnitGrid).where(UnitGrid.duty_grid_code.is_(None))) == 0
        assert count(select(DutyGrid)) == 12 + 12 and count(select(DutyGridInspector)) == 15 + 12  # + a town each
        groups = dict(s.execute(select(Department.group, func.count()).group_by(Department.group)).all())
        assert groups == {"class1": 30, "class2": 12}
        staff = select(func.count(func.distinct(UserRole.user_id))).where(UserRole.role != "company")
        assert s.scalar(staff) == 6 + 42 + 15 + 12  # areas may add their own users (e.g. transport companies)
        assert s.scalar(select(func.count(Case.id))) > 20
        assert set(s.scalars(select(Case.street_code).distinct())) == set(towns)  # 一网管全县: cases in every town
        # every case's history starts with its report, and stages agree with the last event
        last = select(CaseEvent.case_id, func.max(CaseEvent.seq).label("seq")).group_by(CaseEvent.case_id).subquery()
        mismatched = s.scalar(select(func.count()).select_from(Case).join(last, last.c.case_id == Case.id)
                              .join(CaseEvent, (CaseEvent.case_id == Case.id) & (CaseEvent.seq == last.c.seq))
                              .where(CaseEvent.to_stage != Case.stage))
        assert mismatched == 0
        # every login the demo prints exists and takes the password "demo"
        printed = set(re.findall(r"\b[a-z]+\d*\b", demo_logins().split("department code:")[1]))
        named = {"admin", "operator1", "lead1", "dispatcher1", "leader1", "inspector01", "inspector15"} | (
            printed - {"transport", "companies", "portal"})
        users = {u.username: u for u in s.scalars(select(User).where(User.username.in_(named)))}
        assert set(users) == named and all(u.active and verify_password("demo", u.password_hash)
                                           for u in users.values())
        # alarm history over the past weeks, and a couple of live alarms with their case and public warning
        states = dict(s.execute(select(Alarm.state, func.count()).group_by(Alarm.state)).all())
        assert states.get("cleared", 0) >= 20 and 2 <= states.get("active", 0) <= 3, states
        oldest = s.scalar(select(func.min(Alarm.raised_at)))
        assert s.scalar(select(func.max(Alarm.raised_at))) - oldest > timedelta(days=14)
        assert s.scalar(select(func.count(Case.id)).where(Case.source == "sensor", Case.stage != "closed")) >= 1
        assert s.scalar(select(func.count(PublicWarning.id)).where(PublicWarning.lifted_at.is_(None))) >= 1
    with make_engine(url).begin() as conn:  # as if built by the version before the 12345 work orders came
        conn.execute(text("DROP TABLE workorder_messages"))
        conn.execute(text("DROP TABLE workorders"))
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = 'j17w1'"))
    out = StringIO()
    build_demo(settings, Console(file=out), days=4, per_day=12)
    assert "already built" in out.getvalue()  # the second run reuses the database …
    assert inspect(make_engine(url)).has_table("workorders")  # … and brings its schema up to date
