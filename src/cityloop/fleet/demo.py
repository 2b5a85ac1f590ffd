"""Demo data of the fleet area: the synthetic roads, sites and restricted zones of roads.py, four transport
companies with 40 trucks, drivers and portal logins (ztc01 … ztc04, password demo), permits in every state, and
two hours of simulated driving run through the real pipeline, so violations, their cases and an appeal exist."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import shapely
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cityloop.config import Settings
from cityloop.fleet import access, roads
from cityloop.fleet.jt808 import BEIJING
from cityloop.fleet.models import Company, CompanyUser, Driver, Permit, PermitVehicle, Site, Vehicle, Violation, Zone
from cityloop.org.models import User, UserRole
from cityloop.org.security import hash_password
from cityloop.shared.clock import FixedClock
from cityloop.state import AppState

COMPANIES = [
    ("来安县永安渣土运输有限公司", "91341122MA2N0Y0A1K", "王建国", 12),
    ("滁州市顺达建筑垃圾清运有限公司", "91341100MA2P3Q4B2L", "李明", 10),
    ("来安县城建运输有限公司", "91341122MA2R5S6C3M", "张伟", 10),
    ("来安县宏达土石方工程有限公司", "91341122MA2T7U8D4N", "陈刚", 8),
]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"


def build_geography(session: Session) -> dict[str, Site]:
    """Roads, restricted zones and sites (synthetic, see roads.py); returns the sites by name."""
    for name, limit, width, line in roads.roads():
        session.add(Zone(kind="road", name=name, geometry=shapely.to_geojson(line), width_m=width, speed_limit=limit,
                         hours=[], active=True))
    for name, polygon, hours in roads.restricted():
        session.add(Zone(kind="restricted", name=name, geometry=shapely.to_geojson(polygon), hours=hours, active=True))
    made = {}
    for kind, name, polygon in roads.sites():
        made[name] = Site(kind=kind, name=name, geometry=shapely.to_geojson(polygon), active=True)
        session.add(made[name])
    session.flush()
    return made


def _route(router: roads.Router, a: Site, b: Site) -> str:
    start, end = shapely.from_geojson(a.geometry).centroid, shapely.from_geojson(b.geometry).centroid
    path = router.path((round(start.x, 6), round(start.y, 6)), (round(end.x, 6), round(end.y, 6)))
    return json.dumps({"type": "LineString", "coordinates": [list(p) for p in path]})


def add_trucks(session: Session, company: Company, count: int, first_number: int, now: datetime,
               rng: random.Random) -> list[Vehicle]:
    """Vehicles with terminals (phones 0138000xxxxx) and a driver each."""
    made: list[Vehicle] = []
    for k in range(count):
        n = first_number + k
        v = Vehicle(company_id=company.id, plate=f"皖M{'ABCDEFGHJK'[n % 10]}{n:04d}", plate_color=2, load_type="渣土",
                    sealed=rng.random() > 0.08, load_sensor=True, terminal_id=f"BD{n:05d}",
                    terminal_phone=f"138000{n:05d}", coord_sys="wgs84", active=True, created_at=now)
        session.add(v)
        made.append(v)
    session.flush()
    for v in made:
        session.add(Driver(company_id=company.id, name=rng.choice(SURNAMES) + rng.choice(["师傅", "建华", "国强", "志勇"]),
                           phone=f"139{rng.randrange(10**8):08d}", license_no=f"3411{rng.randrange(10**10):010d}",
                           vehicle_id=v.id))
    return made


def add_permit(session: Session, company: Company, vehicles: list[Vehicle], a: Site, b: Site, router: roads.Router,
               today: date, now: datetime, status: str = "approved", hours: list[str] | None = None,
               days: tuple[int, int] = (-10, 60), reason: str | None = None) -> Permit:
    """A permit for vehicles from site a to site b along the roads."""
    p = Permit(company_id=company.id, from_site_id=a.id, to_site_id=b.id, route=_route(router, a, b), corridor_m=60,
               valid_from=today + timedelta(days=days[0]), valid_to=today + timedelta(days=days[1]),
               hours=hours or [], status=status, reason=reason, applied_at=now - timedelta(days=12),
               reviewed_at=None if status == "pending" else now - timedelta(days=11))
    session.add(p)
    session.flush()
    if status in ("approved", "revoked"):
        p.number = f"ZT{(today + timedelta(days=days[0] - 1)).strftime('%Y%m%d')}{p.id:06d}"
    session.add_all([PermitVehicle(permit_id=p.id, vehicle_id=v.id) for v in vehicles])
    return p


def _night_hours(now: datetime) -> list[str]:
    """Hours that exclude the demo's recent past (so its night-hour trucks haul out of hours now)."""
    return ["22:00-06:00"] if 8 <= now.astimezone(BEIJING).hour < 21 else ["09:00-17:00"]


def build_fleet(session: Session, settings: Settings, now: datetime, seed: int = 20261125) -> list[Company]:
    """Companies, their users, trucks, drivers and permits."""
    rng = random.Random(seed)
    sites = build_geography(session)
    origins = [s for s in sites.values() if s.kind == "construction"]
    targets = [s for s in sites.values() if s.kind == "disposal"]
    router, today, pw = roads.Router(), now.astimezone(BEIJING).date(), hash_password("demo")
    companies: list[Company] = []
    number = 1
    for i, (name, credit, contact, count) in enumerate(COMPANIES, start=1):
        c = Company(name=name, credit_code=credit, contact_name=contact, contact_phone=f"0550-55{i:05d}",
                    address="安徽省滁州市来安县", active=True, created_at=now)
        session.add(c)
        session.flush()
        user = User(username=f"ztc{i:02d}", display_name=f"{name[:6]}调度", password_hash=pw, created_at=now,
                    roles=[UserRole(role="company")])
        session.add(user)
        session.flush()
        session.add(CompanyUser(user_id=user.id, company_id=c.id))
        trucks = add_trucks(session, c, count, number, now, rng)
        number += count
        # The first truck of each company has no permit; the second hauls outside its hours; the rest comply.
        groups = [trucks[2:count // 2 + 1], trucks[count // 2 + 1:]]
        for g, members in enumerate(groups):
            add_permit(session, c, members, origins[(i + g) % len(origins)], targets[(i + g) % len(targets)],
                       router, today, now)
        add_permit(session, c, trucks[1:2], origins[i % len(origins)], targets[0], router, today, now,
                   hours=_night_hours(now))
        companies.append(c)
    a, b = companies[0], companies[1]
    add_permit(session, a, [], origins[0], targets[1], router, today, now, status="pending", days=(1, 30))
    add_permit(session, b, [], origins[1], targets[0], router, today, now, status="pending", days=(2, 45))
    add_permit(session, b, [], origins[2], targets[1], router, today, now, status="rejected",
               reason="路线穿越老城区禁行区，请调整 / the route crosses the old town")
    add_permit(session, a, [], origins[3], targets[0], router, today, now, days=(-90, -30))  # expired
    session.flush()
    permitted = select(PermitVehicle.vehicle_id).join(Permit, Permit.id == PermitVehicle.permit_id)
    for p in session.scalars(select(Permit).where(Permit.status == "pending")):
        vids = session.scalars(select(Vehicle.id).where(Vehicle.company_id == p.company_id,
                                                        Vehicle.id.not_in(permitted)).limit(1)).all()
        session.add_all([PermitVehicle(permit_id=p.id, vehicle_id=vid) for vid in vids])
    access.bump_version(session)
    return companies


def drive_history(session: Session, settings: Settings, now: datetime, hours: float = 2.0, step_s: float = 15.0) -> int:
    """Drive the fleet for the last few hours through the real pipeline; returns the violations made."""
    from cityloop.fleet.ingest import Pipeline, load_world
    from cityloop.fleet.simulate import Fleet, plans_from_db
    from cityloop.fleet.world import World

    clock = FixedClock(now)
    pipeline = Pipeline(_replay_state(session, settings, clock))
    start = now.timestamp() - hours * 3600
    plans = plans_from_db(session, load_world(session, None), now - timedelta(hours=hours))
    fleet = Fleet(plans, World(load_world(session, None)), start)
    made, t, batch = 0, start, []
    while t <= now.timestamp():
        batch += [r.fix() for r in fleet.reports(t)]
        if len(batch) >= 4000 or t + step_s > now.timestamp():
            clock.set(datetime.fromtimestamp(t, now.tzinfo))
            made += len(pipeline.ingest(session, batch, clock.now())[2])
            batch = []
        t += step_s
    return made


def _replay_state(session: Session, settings: Settings, clock: FixedClock) -> AppState:
    """The state the history replay's pipeline runs on: this session's database, the replay's clock, and the grid
    index of the demo's grids, built once."""
    from cityloop.geo.queries import build_index
    from cityloop.runtime import build_state

    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    factory = sessionmaker(bind=bind, expire_on_commit=False)
    state = build_state(settings, engine, session_factory=factory, clock=clock, read_session_factory=factory)
    state.fleet_locate = build_index(session).locate
    return state


def appeal_examples(session: Session, settings: Settings, now: datetime) -> None:
    """The first company appeals two of its violations; a reviewer has decided one of them."""
    from cityloop.org.actor import actor_from_user
    from cityloop.fleet import appeals
    from cityloop.sla.service import calendar

    company = session.execute(select(CompanyUser).join(User, User.id == CompanyUser.user_id)
                              .where(User.username == "ztc01")).scalar_one()  # build_fleet made it
    found = session.scalars(select(Violation).where(Violation.company_id == company.company_id,
                                                    Violation.case_id.is_not(None))
                            .order_by(Violation.id).limit(2)).all()
    cal = calendar(session, settings)
    clerk = actor_from_user(session.get_one(User, company.user_id))
    texts = ["车辆当时执行道路抢修应急运输任务，附调度单，请予核减。", "车载终端故障导致定位漂移，已送修，附维修单。"]
    for v, text in zip(found, texts):
        appeals.submit(session, settings, cal, clerk, v.id, text, [], now)
    admin = session.scalar(select(User).where(User.username == "admin"))
    if len(found) == 2 and admin is not None:
        appeals.decide(session, settings, cal, actor_from_user(admin), found[1].id, "upheld",
                       "经核查轨迹连续、无漂移，维持认定。", now)


def build(session: Session, settings: Settings, now: datetime) -> None:
    """Add the fleet demo (called by `cityloop demo`)."""
    if session.scalar(select(func.count(Company.id))):
        return
    build_fleet(session, settings, now)
    session.commit()
    drive_history(session, settings, now)
    appeal_examples(session, settings, now)
    session.commit()


def ensure_fleet(session: Session, settings: Settings, count: int, now: datetime, seed: int = 7) -> int:
    """Make sure at least `count` active vehicles exist, adding a simulated company's trucks with permits
    (5 % without one, 7 % with night-only hours); returns how many were added."""
    have = session.scalar(select(func.count(Vehicle.id)).where(Vehicle.active.is_(True))) or 0
    if have >= count:
        return 0
    if not session.scalar(select(func.count(Site.id))):
        build_geography(session)
    rng, router, today = random.Random(seed), roads.Router(), now.astimezone(BEIJING).date()
    company = session.scalar(select(Company).where(Company.credit_code == "91341122SIM0000001"))
    if company is None:
        company = Company(name="来安县模拟渣土运输有限公司", credit_code="91341122SIM0000001", active=True,
                          created_at=now)
        session.add(company)
        session.flush()
    first = (session.scalar(select(func.max(Vehicle.id))) or 0) + 5000
    trucks = add_trucks(session, company, count - have, first, now, rng)
    sites = list(session.scalars(select(Site).where(Site.active.is_(True))))
    origins = [s for s in sites if s.kind == "construction"]
    targets = [s for s in sites if s.kind == "disposal"]
    permitted = trucks[int(len(trucks) * 0.05):]
    night = int(len(trucks) * 0.07)
    for i in range(0, len(permitted), 20):
        group = permitted[i:i + 20]
        add_permit(session, company, group, rng.choice(origins), rng.choice(targets), router, today, now,
                   hours=_night_hours(now) if i < night else None)
    access.bump_version(session)
    session.commit()
    return len(trucks)
