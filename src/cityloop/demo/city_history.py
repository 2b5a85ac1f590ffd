"""The city demo's history: the county demo's walker, with each district's own center working its district's
cases, some 下派 (city → district) and 上报 (district → city), and the city's dispatchers sharing cases among all
21 departments."""

from __future__ import annotations

import itertools
import random
from typing import Any
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.demo.city_data import CENTER_STAFF, DEPARTMENTS, DISTRICTS
from cityloop.cases.api import Case
from cityloop.demo.history import COMMON, STOP_SHARE, STOPS, Locate, Place, Progress, Stop, ToWgs84, Walker

# The city center's login → the district center's login suffix for the same work.
CENTER_OF = {"operator1": "op", "lead1": "lead", "dispatcher1": "disp"}
HAND_DOWN_SHARE, ESCALATE_SHARE, SPREAD_SHARE = 0.08, 0.04, 0.6
# Departments routing already feeds plenty; the dispatchers' own picks go to the others, so that each of the 21
# handles enough cases a month to be ranked (最低考核量).
ROUTED = frozenset({"cgj", "hwc", "szc", "jjzd", "swjt", "ylj"})
assert set(CENTER_OF.values()) == {suffix for suffix, _, _ in CENTER_STAFF}


class CityWalker(Walker):
    """A walker that lets the district center act on its district's cases."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.abbr = {code: abbr for code, _, abbr, _, _ in DISTRICTS}
        self.spread = itertools.cycle(code for code, _, _ in DEPARTMENTS if code not in ROUTED)

    def who(self, case: Case, username: str) -> str:
        if case.handling_district and username in CENTER_OF:
            return f"{self.abbr[case.handling_district]}_{CENTER_OF[username]}"
        return username

    def step(self, case: Case, at: datetime, action: str, username: str, **body: Any) -> datetime:
        if action == "file":
            roll = self.rng.random()
            if case.handling_district is None and roll < HAND_DOWN_SHARE:
                super().step(case, at, "hand_down", "lead1", note="属区县事权，下派区县分中心办理")
                at = self.later(at, 2, 20)
            elif case.handling_district is not None and roll < ESCALATE_SHARE:
                super().step(case, at, "escalate", self.who(case, "lead1"), note="涉及市级部门，申请市级协调")
                at = self.later(at, 2, 20)
        if action == "dispatch" and case.handling_district is None and "department_code" not in body \
                and self.rng.random() < SPREAD_SHARE:
            body["department_code"] = next(self.spread)  # the city's dispatcher picks among all 21 departments
        return super().step(case, at, action, self.who(case, username), **body)


def generate(session: Session, settings: Settings, places: list[Place], now: datetime, days: int, per_day: int,
             locate: Locate, to_wgs84: ToWgs84, seed: int = 20261203, progress: Progress | None = None) -> int:
    """Create cases over the last `days` days, driven through the loop; returns how many."""
    rng = random.Random(seed)
    walker = CityWalker(session, settings, rng, now, {})
    codes, weights = [c for c, _ in COMMON], [w for _, w in COMMON]
    first = list({p.inspector: p for p in places}.values())  # every district has cases from the first day
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
            place = first.pop() if first else rng.choice(places)
            try:
                walker.run(at, rng.choices(codes, weights)[0], place, locate, to_wgs84)
            except Stop:
                pass
            except Exception:
                session.rollback()
                raise
            made += 1
        if progress:
            progress(offset + 1, days + 1)
    return made
