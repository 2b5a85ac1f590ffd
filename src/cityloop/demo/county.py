"""The demo county's standing data: catalog, regions and grids, departments, staff, duty grids, routing rules
and surveyed components (部件普查)."""

from __future__ import annotations

import random
from datetime import datetime

import shapely
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from cityloop.catalog.models import Category, Component
from cityloop.config import Settings
from cityloop.demo import regions
from cityloop.demo.departments import CLASS1, owner_of
from cityloop.demo.history import Place
from cityloop.geo.models import DutyGridInspector, Region, UnitGrid
from cityloop.geo.queries import town_duty_grid_code
from cityloop.org.models import Department, User, UserRole
from cityloop.org.security import hash_password
from cityloop.routing.models import RoutingRule

COUNTY = regions.COUNTY
DUTY_GRIDS = 12
INSPECTORS = 15  # on the urban duty grids; each town's village cells have one more (inspector16 …)
RURAL_SHARE = 0.2  # share of the history's reports made in the villages of the 12 towns
STAFF = [("admin", "系统管理员", ["admin"]), ("operator1", "受理员一", ["operator"]), ("operator2", "受理员二", ["operator"]),
         ("lead1", "值班长一", ["shift_lead"]), ("dispatcher1", "派遣员一", ["dispatcher"]),
         ("leader1", "指挥中心主任", ["leader"])]
# Component types surveyed in the demo and how many per hundred unit grids.
SURVEYED = {"01001": 12, "01002": 10, "01003": 10, "01004": 6, "01005": 4, "01007": 4, "01011": 3, "01013": 3,
            "01037": 20, "02014": 3, "03001": 2, "03005": 15, "04002": 25}


def build_base(session: Session, settings: Settings, now: datetime) -> None:
    """Everything but the history."""
    from cityloop.catalog.service import load_catalog
    from cityloop.geo import service as geo

    load_catalog(session, settings.catalog_standard)
    geo.import_features(session, regions.region_features())
    urban = regions.urban_communities()
    session.execute(update(Region).where(Region.level == "community", Region.code.notin_(urban))
                    .values(region_class=2))  # 二类区域: villages outside the urban area
    geo.generate_grids(session, urban)
    depts = _departments(session)
    pw = hash_password("demo")
    for name, display, roles in STAFF:
        _user(session, name, display, roles, pw, now)
    for code, dept in depts.items():
        _user(session, code, dept.name, ["department"], pw, now, dept.id)
    inspectors = [_user(session, f"inspector{i:02d}", f"监督员{i:02d}", ["inspector"], pw, now)
                  for i in range(1, INSPECTORS + 1)]
    session.flush()
    # 15 inspectors on 12 duty grids: the first three grids get a second inspector.
    geo.assign_duty_grids(session, COUNTY, DUTY_GRIDS, [[inspectors[i].id] + ([inspectors[12 + i].id] if i < 3 else [])
                                                        for i in range(DUTY_GRIDS)])
    geo.generate_rural(session, COUNTY)  # 一网管全县: village-level cells in every town, on the town's duty grid
    towns = list(session.scalars(select(Region).where(Region.level == "street").order_by(Region.code)))
    for i, town in enumerate(towns, INSPECTORS + 1):
        user = _user(session, f"inspector{i:02d}", f"{town.name}监督员", ["inspector"], pw, now)
        session.flush()
        session.add(DutyGridInspector(duty_grid_code=town_duty_grid_code(town.code), user_id=user.id))
    _routing_rules(session, depts, towns, now)
    _components(session, depts, urban)
    session.commit()


def _departments(session: Session) -> dict[str, Department]:
    depts = {code: Department(code=code, name=name, name_en=en, group="class1") for code, name, en in CLASS1}
    for town in session.scalars(select(Region).where(Region.level == "street").order_by(Region.code)):
        code = f"t{town.code[-3:]}"
        depts[code] = Department(code=code, name=town.name, group="class2", territory_code=town.code)
    session.add_all(depts.values())
    session.flush()
    return depts


def _user(session: Session, username: str, display: str, roles: list[str], pw: str, now: datetime,
          department_id: int | None = None) -> User:
    user = User(username=username, display_name=display, password_hash=pw, department_id=department_id,
                created_at=now, roles=[UserRole(role=r) for r in roles])
    session.add(user)
    return user


def _routing_rules(session: Session, depts: dict[str, Department], towns: list[Region], now: datetime) -> None:
    """In the urban communities each category goes to its county department; elsewhere the town handles
    everything in its territory (属地管理)."""
    matters = list(session.scalars(select(Category).where(Category.kind == "matter", Category.major_code != "10")))
    rows = [dict(category_id=m.id, area_level="community", area_code=c, department_id=depts[owner_of(m.major_code,
                 m.name)].id, created_at=now, active=True, note="演示：城区按类别默认责任单位")
            for c in regions.urban_communities() for m in matters]  # 其他事项: left to 确权 (属地兜底)
    rows += [dict(category_id=None, area_level="street", area_code=t.code, department_id=depts[f"t{t.code[-3:]}"].id,
                  created_at=now, active=True, note="演示：城区以外由乡镇属地处置") for t in towns]
    session.execute(insert(RoutingRule), rows)


def _random_point_in(geom: shapely.Geometry, rng: random.Random) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(100):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(shapely.Point(x, y)):
            return round(x, 6), round(y, 6)
    p = geom.representative_point()
    return p.x, p.y


def _components(session: Session, depts: dict[str, Department], urban: list[str]) -> None:
    """Components on the urban grids, each owned and maintained by the department that owns its type."""
    rng = random.Random(7)
    grids = list(session.scalars(select(UnitGrid).where(UnitGrid.community_code.in_(urban)).order_by(UnitGrid.code)))
    types = {c.code: c for c in session.scalars(select(Category).where(Category.kind == "component",
                                                                        Category.code.in_(SURVEYED)))}
    for code, per_hundred in SURVEYED.items():
        owner = depts[owner_of(code[:2], types[code].name)]
        for seq, grid in enumerate(rng.sample(grids, len(grids) * per_hundred // 100), 1):
            lon, lat = _random_point_in(shapely.from_geojson(grid.geometry), rng)
            session.add(Component(id=f"{COUNTY}{code}{seq:06d}", category_id=types[code].id, name=types[code].name,
                                  owner_department_id=owner.id, maintainer_department_id=owner.id,
                                  competent_department_id=owner.id, grid_code=grid.code, state="完好",
                                  lon=lon, lat=lat, data_source="实测", note="演示数据"))


def components_by_type(session: Session) -> dict[str, list[tuple[str, float, float]]]:
    """Surveyed components by type code, for reports about a component."""
    out: dict[str, list[tuple[str, float, float]]] = {}
    for comp, code in session.execute(select(Component, Category.code).join(Category)):
        out.setdefault(code, []).append((comp.id, comp.lon, comp.lat))
    return out


def places(session: Session) -> list[Place]:
    """A point in every unit grid with the inspector of its duty grid; the villages together weigh RURAL_SHARE."""
    first: dict[str | None, str] = {}
    for code, username in session.execute(select(DutyGridInspector.duty_grid_code, User.username)
                                          .join(User, User.id == DutyGridInspector.user_id).order_by(User.username)):
        first.setdefault(code, username)
    urban = set(regions.urban_communities())
    out = []
    for grid in session.scalars(select(UnitGrid).order_by(UnitGrid.code)):
        p = shapely.from_geojson(grid.geometry).representative_point()
        out.append(Place(round(p.x, 6), round(p.y, 6), first.get(grid.duty_grid_code, "inspector01"),
                         rural=grid.community_code not in urban,
                         town=grid.street_code if grid.community_code not in urban else None))
    rural = sum(p.rural for p in out)
    if rural and rural < len(out):
        weight = RURAL_SHARE / (1 - RURAL_SHARE) * (len(out) - rural) / rural
        for p in out:
            p.weight = weight if p.rural else 1.0
    return out
