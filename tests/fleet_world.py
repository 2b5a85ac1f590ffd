"""The fleet's part of the small test world: the enforcement department, the two matters violations are filed
under, two companies with portal users, three trucks, a road through the test grids with a site at each end, a
restricted zone and an approved permit — plus helpers that script tracks along the road."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import shapely

from cityloop.catalog.models import Category, FilingCondition
from cityloop.fleet import access
from cityloop.fleet.models import Company, CompanyUser, Permit, PermitVehicle, Site, Vehicle, Zone
from cityloop.org.models import Department, User, UserRole
from tests.factories import STANDARD, _password

LAT = 32.4495  # the road runs east–west through the test grids (118.430–118.433, 32.449–32.450)
WEST, EAST = 118.4200, 118.4450
KX = 111_320.0 * math.cos(math.radians(LAT))


@dataclass
class Fleet:
    companies: dict[str, Company] = field(default_factory=dict)
    vehicles: dict[str, Vehicle] = field(default_factory=dict)
    sites: dict[str, Site] = field(default_factory=dict)
    permit: Permit | None = None


def lon_at(metres_from_west: float) -> float:
    return round(WEST + metres_from_west / KX, 6)


def _square(lon: float, lat: float, half_m: float) -> str:
    return shapely.to_geojson(shapely.box(lon - half_m / KX, lat - half_m / 110_574, lon + half_m / KX,
                                          lat + half_m / 110_574))


def seed_fleet(session, world, now: datetime) -> Fleet:
    """Add the fleet's test data to the seeded world (commits)."""
    f = Fleet()
    cgj = Department(code="cgj", name="县城市管理行政执法局", group="class1")
    session.add(cgj)
    session.flush()
    world.users["cgj"] = User(username="cgj", display_name="执法局", password_hash=_password(), created_at=now,
                              department_id=cgj.id, roles=[UserRole(role="department")])
    session.add(world.users["cgj"])
    for code, major, name, cond, desc, value, unit in [
        ("08011", "08", "渣土运输车辆未安装密闭装置", "01", "渣土运输车辆未密闭运输", 1, "d"),
        ("06011", "06", "积存垃圾渣土", "02", "渣土堆积（需机械清运）", 2, "d"),
        ("09018", "09", "履带车（铁轮车）违规上路行驶", "01", "违规上路行驶", 1, "d"),
        ("08005", "08", "施工废弃料", "01", "施工废弃料", 1, "d"),
    ]:
        cat = Category(standard=STANDARD, kind="matter", major_code=major, major_name="施工管理类", code=code,
                       name=name)
        cat.conditions = [FilingCondition(code=cond, description=desc, limit_value=value, limit_unit=unit,
                                          urgent=False, is_default=True, position=0, closing_condition="已整改")]
        session.add(cat)
    for key, name, credit in [("a", "来安县测试渣土运输有限公司", "91341122MA2TEST01A"),
                              ("b", "滁州市另一运输有限公司", "91341100MA2TEST02B")]:
        c = Company(name=name, credit_code=credit, active=True, created_at=now)
        session.add(c)
        session.flush()
        user = User(username=f"ztc{key}", display_name=f"{name[:4]}调度", password_hash=_password(), created_at=now,
                    roles=[UserRole(role="company")])
        session.add(user)
        session.flush()
        session.add(CompanyUser(user_id=user.id, company_id=c.id))
        world.users[user.username] = user
        f.companies[key] = c
    for plate, phone, company, sealed, coord in [("皖MA0001", "13800000001", "a", True, "wgs84"),
                                                 ("皖MB0002", "13800000002", "a", False, "wgs84"),
                                                 ("皖MC0003", "13800000003", "b", True, "gcj02")]:
        v = Vehicle(company_id=f.companies[company].id, plate=plate, plate_color=2, load_type="渣土", sealed=sealed,
                    load_sensor=True, terminal_phone=phone, coord_sys=coord, active=True, created_at=now)
        session.add(v)
        f.vehicles[plate] = v
    road = {"type": "LineString", "coordinates": [[WEST, LAT], [EAST, LAT]]}
    session.add(Zone(kind="road", name="测试大道", geometry=json.dumps(road), width_m=30, speed_limit=40, hours=[],
                     active=True))
    session.add(Zone(kind="restricted", name="测试禁行区", geometry=_square(lon_at(2000), LAT + 0.0030, 150),
                     hours=[], active=True))
    for key, kind, lon in [("a", "construction", WEST), ("b", "disposal", EAST), ("c", "construction", lon_at(600))]:
        f.sites[key] = Site(kind=kind, name=f"测试{'工地' if kind == 'construction' else '消纳场'}{key}",
                            geometry=_square(lon, LAT, 100), active=True)
        session.add(f.sites[key])
    session.flush()
    local = now.astimezone(timezone(timedelta(hours=8))).date()
    f.permit = Permit(number="ZT2026112300001", company_id=f.companies["a"].id, from_site_id=f.sites["a"].id,
                      to_site_id=f.sites["b"].id, route=json.dumps(road), corridor_m=60,
                      valid_from=local - timedelta(days=1), valid_to=local + timedelta(days=30), hours=[],
                      status="approved", applied_at=now)
    session.add(f.permit)
    session.flush()
    session.add(PermitVehicle(permit_id=f.permit.id, vehicle_id=f.vehicles["皖MA0001"].id))
    access.bump_version(session)
    session.commit()
    return f


def drive(plate: str, start: datetime, metres_from_west: float, speed_kmh: float, seconds: int, step: int = 5,
          load: int = 3, lateral_m: float = 0.0) -> list[dict]:
    """Positions (JSON for POST /positions) of a truck driving east along the road."""
    out, pos = [], metres_from_west
    for k in range(0, seconds + 1, step):
        out.append({"plate": plate, "time": (start + timedelta(seconds=k)).isoformat(), "lon": lon_at(pos),
                    "lat": round(LAT + lateral_m / 110_574, 6), "speed": speed_kmh, "heading": 90, "load": load})
        pos += speed_kmh / 3.6 * step
    return out


def today(now: datetime) -> date:
    return now.astimezone(timezone(timedelta(hours=8))).date()
