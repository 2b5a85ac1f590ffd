"""About three months of believable history, made by driving the real services with a moving clock, so every
counter later derived from events is consistent. Recent cases stop at every stage, so each inbox has work."""

from __future__ import annotations

from typing import Any, Literal

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import OPEN_STAGES, Case, ActionIn, ReportIn
from cityloop.catalog.models import FilingCondition
from cityloop.config import Settings
from cityloop.org.actor import Actor, actor_from_user
from cityloop.org.models import Department, User
from cityloop.sla.service import calendar

# Common problems in a county seat, with weights (GB/T 47678.5 matter codes).
COMMON = [("06010", 14), ("06012", 9), ("09006", 10), ("09009", 8), ("07001", 9), ("06036", 6), ("09010", 5),
          ("07003", 3), ("08011", 3), ("06007", 3), ("01002", 3), ("01003", 2), ("01001", 2), ("03005", 2),
          ("01037", 2), ("04002", 2), ("09001", 4), ("06001", 2), ("08004", 1), ("06042", 2)]
Source = Literal["inspector", "public", "hotline", "video"]
SOURCES: list[tuple[Source, int]] = [("inspector", 70), ("public", 15), ("hotline", 10), ("video", 5)]
DESCRIPTIONS = {"06010": "路边暴露垃圾未清运", "06012": "路面有油污、泥土", "09006": "商户占用人行道经营",
                "09009": "机动车占用人行道停放", "07001": "电线杆上张贴小广告", "06036": "沿街乱堆杂物",
                "01001": "供水井盖破损松动", "01002": "污水井盖缺失", "01003": "雨水井盖移位", "01037": "路灯不亮",
                "03005": "垃圾箱破损", "04002": "行道树倒伏", "06042": "垃圾箱满溢", "09001": "流动摊贩占道"}
# Where a recent case may be left standing (the stage it waits in now).
STOPS = ["reported", "verifying", "accepted", "filed", "dispatched", "handled", "checked"]
# Share of cases left standing by their age in working minutes: most of today's, a few older ones (overdue).
STOP_SHARE = ((480, 0.6), (2400, 0.08))


@dataclass
class Place:
    lon: float
    lat: float
    inspector: str = "inspector01"
    rural: bool = False
    town: str | None = None  # the town of a village place
    weight: float = 1.0


class Stop(Exception):
    """The case has gone as far as it goes in this history."""


Components = dict[str, list[tuple[str, float, float]]]  # surveyed components by type: (id, lon, lat)
Locate = Callable[..., Any]  # the grid index's point lookup, as intake takes it
ToWgs84 = Callable[..., Any]  # a coordinate conversion, as intake takes it
Progress = Callable[[int, int], object]  # told (done, total) after each day


class Walker:
    """Runs one case through the loop until its next step would be in the future or it reaches its stop."""

    def __init__(self, session: Session, settings: Settings, rng: random.Random, now: datetime,
                 components: Components) -> None:
        self.session, self.settings, self.rng, self.now = session, settings, rng, now
        self.cal = calendar(session, settings)
        self.actors: dict[str, Actor] = {}
        self.components = components
        self.last_open: dict[str, int] = {}  # category → an open case, for duplicate reports
        self.stop_at: str | None = None

    def actor(self, username: str) -> Actor:
        if username not in self.actors:
            user = self.session.scalar(select(User).where(User.username == username))
            assert user is not None, username  # the demo's own staff
            self.actors[username] = actor_from_user(user)
        return self.actors[username]

    def ctx(self, at: datetime, username: str) -> cases_api.Ctx:
        return cases_api.Ctx(self.session, self.settings, self.cal, at, self.actor(username))

    def later(self, at: datetime, lo: int, hi: int) -> datetime:
        return self.cal.add(at, self.rng.randint(lo, hi))

    def step(self, case: Case, at: datetime, action: str, username: str, **body: Any) -> datetime:
        """Take the action at `at` unless that is in the future or the case should wait where it is."""
        if at > self.now or case.stage == self.stop_at:
            raise Stop
        cases_api.apply(self.ctx(at, username), case.id, action, ActionIn(**body))
        return at

    def inspector_of(self, case: Case) -> str:
        task = cases_api.current_task(self.session, case)
        user = self.session.get(User, task.assignee_id) if task and task.assignee_id else None
        return user.username if user else "inspector01"

    def condition(self, case: Case) -> str | None:
        """Mostly the default 立案条件; now and then another one, such as a 紧急 missing manhole cover."""
        if self.rng.random() > 0.15:
            return None
        return self.rng.choice(list(self.session.scalars(
            select(FilingCondition.code).where(FilingCondition.category_id == case.category_id))))

    def dept_user(self, case: Case) -> str:
        dept = self.session.get(Department, case.department_id)
        assert dept is not None  # a dispatched case has its department
        return dept.code

    def report(self, at: datetime, code: str, place: Place, locate: Locate, to_wgs84: ToWgs84) -> Case:
        rng = self.rng
        source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
        lon, lat, component = place.lon, place.lat, None
        if not place.rural and self.components.get(code) and rng.random() < 0.8:
            component, lon, lat = rng.choice(self.components[code])
        self_handled = source == "inspector" and rng.random() < 0.05
        body = ReportIn(category_code=code, lon=lon, lat=lat, source=source, component_id=component,
                        description=DESCRIPTIONS.get(code, "发现城市管理问题") + ("，已现场处置" if self_handled else ""),
                        self_handled=self_handled,
                        reporter_phone=f"13{rng.randint(100000000, 999999999)}" if source != "inspector" else None)
        reporter = place.inspector if source == "inspector" else "operator1"
        case, _ = cases_api.report(self.ctx(at, reporter), body, locate, to_wgs84, None)
        return case

    def run(self, at: datetime, code: str, place: Place, locate: Locate, to_wgs84: ToWgs84) -> None:
        case = self.report(at, code, place, locate, to_wgs84)
        try:
            self.intake(case, at)
        except Stop:
            pass
        if case.stage in OPEN_STAGES:
            self.last_open[code] = case.id

    def intake(self, case: Case, at: datetime) -> None:
        rng, roll = self.rng, self.rng.random()
        at = self.later(at, 3, 45)
        if case.self_handled:
            self.step(case, at, "self_close", "operator1", note="自行处置属实")
            return
        if roll < 0.03:
            self.step(case, at, "reject", "operator1", note="非城市管理问题")
            return
        if roll < 0.05 and self.last_open.get(case.category_code):
            other = self.last_open[case.category_code]
            self.step(case, at, "merge", "operator1", target_case=str(other), note="重复上报")
            return
        at = self.step(case, at, "accept", "operator1")
        if case.stage == "verifying":
            ok = rng.random() > 0.08
            at = self.step(case, self.later(at, 15, 90), "verify_ok" if ok else "verify_fail", self.inspector_of(case),
                           note=None if ok else "现场核实不属实")
            if not ok:
                return
        at = self.later(at, 3, 40)
        if rng.random() < 0.02:
            self.step(case, at, "refuse", "lead1", note="不符合立案条件")
            return
        at = self.step(case, at, "file", "lead1", condition_code=self.condition(case))
        if rng.random() < 0.01:
            at = self.step(case, self.later(at, 5, 60), "request_void", "dispatcher1", note="录入错误，申请作废")
            self.step(case, self.later(at, 3, 30), "void", "lead1", note="同意作废")
            return
        at = self.step(case, self.later(at, 3, 40), "dispatch", "dispatcher1")
        self.handle_phase(case, at)

    def handle_phase(self, case: Case, at: datetime) -> None:
        rng = self.rng
        limit = cases_api.handle_limit(cases_api.Ctx(self.session, self.settings, self.cal, at, self.actor("lead1")), case)
        roll = rng.random()
        if roll < 0.03:
            self.step(case, self.later(at, limit // 2, limit), "supervise", "leader1", note="请加快处置")
        if roll < 0.015:
            raise Stop  # a department that never answers: overdue, red on every screen
        if roll < 0.06:
            at = self.step(case, self.later(at, 10, 60), "request_return", self.dept_user(case), note="不属于本单位职责")
            at = self.step(case, self.later(at, 5, 60), "approve", "dispatcher1")
            other = self.session.scalar(select(Department.code).where(Department.group == "class1")
                                        .order_by(Department.id).offset(rng.randint(0, 20)).limit(1))
            at = self.step(case, self.later(at, 5, 30), "dispatch", "dispatcher1", department_code=other)
        elif roll < 0.11:
            at = self.step(case, self.later(at, 10, 120), "request_extension", self.dept_user(case),
                           note="需协调相关单位", extension=rng.choice(["4h", "1d", "2d"]))
            at = self.step(case, self.later(at, 5, 60), rng.choice(["approve", "approve", "deny"]), "dispatcher1",
                           note="已审核")
        elif roll < 0.13:
            at = self.step(case, self.later(at, 30, 240), "request_suspension", self.dept_user(case),
                           note="需立项资金，暂缓处置")
            at = self.step(case, self.later(at, 10, 60), "approve", "dispatcher1")
            if rng.random() < 0.6:
                raise Stop  # long-term 挂账
            at = self.step(case, self.later(at, 960, 4800), "resume", "dispatcher1")
        for attempt in range(3):
            slow = 1.3 if rng.random() < 0.15 else 0.9
            at = self.step(case, self.later(at, max(10, int(limit * 0.2)), int(limit * slow) + 10), "handle",
                           self.dept_user(case), result="已按要求处置完毕")
            rework = rng.random() < 0.1 and attempt < 2
            at = self.step(case, self.later(at, 20, 100), "check_fail" if rework else "check_ok",
                           self.inspector_of(case), note="复查仍未整改到位" if rework else None)
            if not rework:
                break
        self.step(case, self.later(at, 3, 40), "close", "lead1")


def generate(session: Session, settings: Settings, places: list[Place], now: datetime, days: int, per_day: int,
             locate: Locate, to_wgs84: ToWgs84, components: Components | None = None, seed: int = 20261124,
             progress: Progress | None = None) -> int:
    """Create cases over the last `days` days, driven through the loop; returns how many."""
    rng = random.Random(seed)
    walker = Walker(session, settings, rng, now, components or {})
    codes, weights = [c for c, _ in COMMON], [w for _, w in COMMON]
    where = list(itertools.accumulate(p.weight for p in places))
    # The first reports visit every town once, so even a short history has a case in each (一网管全县).
    first = list({p.town: p for p in places if p.town}.values())
    tz = walker.cal.tz
    start_day = (now.astimezone(tz) - timedelta(days=days)).date()
    made = 0
    for offset in range(days + 1):
        day = start_day + timedelta(days=offset)
        count = per_day if walker.cal.is_workday(day) else per_day // 3
        for _ in range(rng.randint(int(count * 0.7), int(count * 1.3))):
            at = datetime.combine(day, time(7, 30), tz) + timedelta(minutes=rng.randint(0, 11 * 60))
            if at > now:
                continue
            age = walker.cal.between(at, now)
            share = next((p for limit, p in STOP_SHARE if age < limit), 0.0)
            walker.stop_at = rng.choice(STOPS) if rng.random() < share else None
            try:
                walker.run(at, rng.choices(codes, weights)[0], first.pop() if first else rng.choices(places, cum_weights=where)[0], locate, to_wgs84)
            except Exception:
                session.rollback()
                raise
            made += 1
        if progress:
            progress(offset + 1, days + 1)
    return made
