"""Helpers for the public services tests: the 非法小广告 matter the small world lacks, a 07001 case, points."""

from __future__ import annotations

from cityloop.catalog.models import Category, FilingCondition
from tests.factories import STANDARD


def add_ad_matter(session) -> Category:
    """07001 非法小广告 with its GB/T 47678.5 filing condition (1 working day)."""
    cat = Category(standard=STANDARD, kind="matter", major_code="07", major_name="宣传广告类", code="07001",
                   name="非法小广告")
    cat.conditions = [FilingCondition(code="01", description="张贴、涂写、刻画非法小广告", limit_value=1, limit_unit="d",
                                      urgent=False, is_default=True, position=0, closing_condition="小广告已清除")]
    session.add(cat)
    session.commit()
    return cat


def open_case(session, settings, clock, world, code: str = "07001", grid: str = "341122100001001"):
    """A case opened by the system (dispatched to the street's unit when routing knows one)."""
    from cityloop.cases import automation
    from cityloop.geo.queries import build_index
    from cityloop.sla.service import calendar

    lon, lat = world.point(grid)
    case = automation.open_case(session, settings, calendar(session, settings), clock.now(),
                                build_index(session).locate, source="inspector", category_code=code, lon=lon,
                                lat=lat, description="电线杆上的办证小广告 13800001111", department_code="d01")
    session.commit()  # the use case a test stands in for commits once
    return case


def point_body(kind: str, lon: float, lat: float, **extra) -> dict:
    return {"kind": kind, "name": extra.pop("name", f"{kind} {lon:.4f}"), "lon": lon, "lat": lat, **extra}
