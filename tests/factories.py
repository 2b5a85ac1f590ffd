"""A small seeded county for integration tests (fast: one password hash, plain inserts)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from shapely.geometry import box, mapping

from cityloop.catalog.models import Category, FilingCondition
from cityloop.geo.models import DutyGrid, DutyGridInspector, Region, UnitGrid
from cityloop.org.models import Department, User, UserRole
from cityloop.org.security import hash_password
from cityloop.routing.models import RoutingRule

_HASH: str | None = None
STANDARD = "GB/T 47678.5-2026"
# Two communities of 新安镇; each grid is a 0.001° square. Community 001 has grids 001–004 (duty grid DG01),
# community 002 has grid 001 (duty grid DG02).
LON0, LAT0 = 118.430, 32.450


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    grids: dict[str, UnitGrid] = field(default_factory=dict)

    def point(self, grid_code: str) -> tuple[float, float]:
        """The centre of a unit grid."""
        from shapely.geometry import shape

        c = shape(json.loads(self.grids[grid_code].geometry)).centroid
        return round(c.x, 6), round(c.y, 6)


def _password() -> str:
    global _HASH
    if _HASH is None:
        _HASH = hash_password("demo")
    return _HASH


def _square(col: int, row: int, lon0=LON0, lat0=LAT0) -> str:
    g = box(lon0 + col * 0.001, lat0 - (row + 1) * 0.001, lon0 + (col + 1) * 0.001, lat0 - row * 0.001)
    return json.dumps(mapping(g))


def seed_world(session, now: datetime) -> World:
    """Insert regions, grids, departments, users, a few categories and one routing rule."""
    w = World()
    session.add_all([
        Region(code="341122", level="district", name="来安县"),
        Region(code="341122100", level="street", name="新安镇", parent_code="341122"),
        Region(code="341122100001", level="community", name="北门社区", parent_code="341122100"),
        Region(code="341122100002", level="community", name="西门社区", parent_code="341122100"),
        DutyGrid(code="DG01", name="第一责任网格", district_code="341122"),
        DutyGrid(code="DG02", name="第二责任网格", district_code="341122"),
    ])
    session.flush()
    cells = [("341122100001001", 0, 0, "DG01"), ("341122100001002", 1, 0, "DG01"),
             ("341122100001003", 0, 1, "DG01"), ("341122100001004", 1, 1, "DG01"),
             ("341122100002001", 2, 0, "DG02")]
    for code, col, row, duty in cells:
        grid = UnitGrid(code=code, community_code=code[:12], street_code=code[:9], district_code=code[:6],
                        duty_grid_code=duty, area_m2=9_400.0, geometry=_square(col, row))
        session.add(grid)
        w.grids[code] = grid
    for code, name, group, territory in [
        ("d01", "县城管执法局", "class1", None), ("d02", "县住建局", "class1", None),
        ("d03", "县自来水公司", "class1", None), ("t100", "新安镇", "class2", "341122100"),
        ("t000", "县属地兜底", "class2", "341122"),
    ]:
        dept = Department(code=code, name=name, group=group, territory_code=territory)
        session.add(dept)
        w.departments[code] = dept
    session.flush()
    pw = _password()
    people = [("admin", ["admin"], None), ("operator1", ["operator"], None), ("lead1", ["shift_lead"], None),
              ("dispatcher1", ["dispatcher"], None), ("leader1", ["leader"], None),
              ("inspector01", ["inspector"], None), ("inspector02", ["inspector"], None),
              ("d01", ["department"], "d01"), ("d02", ["department"], "d02"), ("d03", ["department"], "d03"),
              ("t100", ["department"], "t100")]
    for username, roles, dept in people:
        user = User(username=username, display_name=username, password_hash=pw, created_at=now,
                    department_id=w.departments[dept].id if dept else None,
                    roles=[UserRole(role=r) for r in roles])
        session.add(user)
        w.users[username] = user
    session.flush()
    session.add_all([DutyGridInspector(duty_grid_code="DG01", user_id=w.users["inspector01"].id),
                     DutyGridInspector(duty_grid_code="DG02", user_id=w.users["inspector02"].id)])
    for kind, major, major_name, code, name, conds in [
        ("matter", "06", "市容环境类", "06010", "暴露垃圾", [("01", "垃圾暴露", 4, "h", False)]),
        ("matter", "09", "街面秩序类", "09006", "占道经营", [("01", "占道经营", 2, "h", False)]),
        ("matter", "01", "市政公用设施类", "01001", "供水井盖异常",
         [("01", "井盖缺失、移位", 2, "h", True), ("02", "井盖破损、松动", 1, "d", False)]),
        ("component", "01", "市政公用设施", "01001", "供水井盖", []),
    ]:
        cat = Category(standard=STANDARD, kind=kind, major_code=major, major_name=major_name, code=code, name=name,
                       component_code=code if kind == "matter" and major <= "05" else None)
        cat.conditions = [FilingCondition(code=c, description=d, limit_value=v, limit_unit=u, urgent=urg,
                                          is_default=(i == 0), position=i, closing_condition="问题已处置")
                          for i, (c, d, v, u, urg) in enumerate(conds)]
        session.add(cat)
        w.categories[f"{kind}:{code}"] = cat
    session.flush()
    session.add_all([
        RoutingRule(category_id=w.categories["matter:06010"].id, area_level="street", area_code="341122100",
                    department_id=w.departments["d01"].id, created_at=now),
        RoutingRule(category_id=w.categories["matter:01001"].id, area_level="district", area_code="341122",
                    department_id=w.departments["d03"].id, created_at=now),
    ])
    session.commit()
    return w


def form_login(api, username: str, password: str = "demo", next_url: str = "/console"):
    """Log in through the login form as a browser does: open it (it sets the CSRF cookie), post it with the token."""
    api.get("/login")
    return api.post("/login", data={"username": username, "password": password, "next": next_url,
                                    "csrf": api.cookies.get("cl_csrf")}, follow_redirects=False)
