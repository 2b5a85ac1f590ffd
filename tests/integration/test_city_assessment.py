"""A city's monthly assessment ranks its districts/counties (区县) as well as its departments: the `district`
region kind with several districts, over the API, the drill-down and the public rankings page."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from cityloop.geo.models import Region, UnitGrid
from tests.conftest import SHANGHAI
from tests.factories import _square

OTHER_GRID = "341103001001001"


@pytest.fixture
def two_districts(session, world):
    """A second district (341103) with one street, community and unit grid beside the world's."""
    session.add_all([Region(code="341103", level="district", name="南谯区"),
                     Region(code="341103001", level="street", name="乌衣镇", parent_code="341103"),
                     Region(code="341103001001", level="community", name="乌衣社区", parent_code="341103001")])
    session.flush()
    grid = UnitGrid(code=OTHER_GRID, community_code="341103001001", street_code="341103001", district_code="341103",
                    area_m2=9_400.0, geometry=_square(5, 0))
    session.add(grid)
    session.commit()
    world.grids[OTHER_GRID] = grid
    return world


def _run(api, world, login, grid, finish=True):
    lon, lat = world.point(grid)
    case = api.post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"},
                    headers=login("inspector01")).json()
    steps = [("accept", "operator1", {}), ("file", "lead1", {}), ("dispatch", "dispatcher1", {"department_code": "d01"})]
    if finish:
        steps += [("handle", "d01", {"result": "已处理"}), ("check_ok", "admin", {}), ("close", "lead1", {})]
    for action, user, body in steps:
        r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", json=body, headers=login(user))
        assert r.status_code == 200, r.text
    return r.json()


def test_the_assessment_ranks_several_districts(api, two_districts, login, clock):
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    home = [_run(api, two_districts, login, "341122100001001") for _ in range(2)]
    other = [_run(api, two_districts, login, OTHER_GRID), _run(api, two_districts, login, OTHER_GRID, finish=False)]
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))
    r = api.get("/api/v1/assessment/district?period=2026-11", headers=login("leader1"))
    assert r.status_code == 200, r.text
    rows = {row["object_id"]: row for row in r.json()["rows"]}
    assert set(rows) == {"341122", "341103"}
    assert rows["341122"]["name"] == "来安县" and rows["341103"]["name"] == "南谯区"
    assert rows["341122"]["counters"]["reported"] == 2 and rows["341103"]["counters"]["reported"] == 2
    assert rows["341122"]["counters"]["closed"] == 2 and rows["341103"]["counters"]["closed"] == 1
    assert rows["341122"]["rank"] == 1 and rows["341103"]["rank"] == 2  # all closed beats half closed
    drill = api.get("/api/v1/assessment/district/341103/cases", params={"period": "2026-11", "figure": "reported"},
                    headers=login("leader1")).json()
    assert sorted(i["number"] for i in drill["items"]) == sorted(c["number"] for c in other)
    departments = api.get("/api/v1/assessment/department?period=2026-11", headers=login("leader1")).json()["rows"]
    assert any(d["name"] == "县城管执法局" and d["score"] is not None for d in departments)
    page = api.get("/public/rankings").text
    assert "区县排名" in page and "南谯区" in page and "来安县" in page and "县城管执法局" in page
    assert len(home) == 2


def test_a_single_district_deployment_shows_no_district_ranking(api, world, login, clock):
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    _run(api, world, login, "341122100001001")
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))
    page = api.get("/public/rankings")
    assert page.status_code == 200 and "区县排名" not in page.text and "县城管执法局" in page.text


def test_a_district_center_sees_only_its_district(api, two_districts, login, clock, session):
    from cityloop.org.models import Department, User, UserRole

    world = two_districts
    unit = Department(code="t341103", name="乌衣镇", group="class2", territory_code="341103001")
    session.add(unit)
    session.flush()
    for name, district in (("nq_lead", "341103"), ("la_lead", "341122")):
        user = User(username=name, display_name=name, password_hash="!", created_at=clock.now(),
                    district_code=district, roles=[UserRole(role="shift_lead")])
        session.add(user)
        world.users[name] = user
    session.commit()
    clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    _run(api, world, login, "341122100001001")
    _run(api, world, login, OTHER_GRID)
    clock.set(datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))

    def ids(user: str, kind: str) -> set:
        r = api.get(f"/api/v1/assessment/{kind}", params={"period": "2026-11"}, headers=login(user))
        assert r.status_code == 200, r.text
        return {row["object_id"] for row in r.json()["rows"]}

    assert ids("leader1", "district") == {"341122", "341103"}  # the city center sees all
    assert ids("nq_lead", "district") == {"341103"} and ids("la_lead", "district") == {"341122"}
    assert ids("nq_lead", "street") == {"341103001"}
    assert ids("nq_lead", "grid") == {OTHER_GRID}
    departments = {d.id: d.code for d in session.scalars(select(Department))}
    assert {departments[i] for i in ids("nq_lead", "department")} == {"t341103"}
    assert {departments[i] for i in ids("la_lead", "department")} == {"t100", "t000"}
    assert "d01" in {departments[i] for i in ids("leader1", "department")}
    assert ids("nq_lead", "shift_lead") <= {world.users["nq_lead"].id}
    # The cases behind another district's figure do not exist for this district; its own do.
    drill = {"period": "2026-11", "figure": "reported"}
    other = api.get("/api/v1/assessment/district/341122/cases", params=drill, headers=login("nq_lead"))
    assert other.status_code == 404
    own = api.get("/api/v1/assessment/district/341103/cases", params=drill, headers=login("nq_lead"))
    assert own.status_code == 200 and len(own.json()["items"]) == 1
    # City-wide analysis, reports and publishing are the city center's.
    for path in ("/api/v1/assessment/analysis?period=2026-11", "/api/v1/assessment/reports/monthly/2026-11.xlsx",
                 "/api/v1/assessment/periods"):
        r = api.get(path, headers=login("nq_lead"))
        assert r.status_code == 403 and r.json()["code"] == "assessment-city-center", path
    assert api.get("/api/v1/assessment/analysis?period=2026-11", headers=login("leader1")).status_code == 200
    # The console page, as the district's shift lead: its district only, with the scope said.
    page = api.get("/console/assessment", params={"kind": "district", "period": "2026-11"}, headers=login("nq_lead"))
    assert page.status_code == 200
    assert "南谯区" in page.text and "来安县" not in page.text and 'id="district-scope"' in page.text
    assert "/api/v1/assessment/reports/monthly/" not in page.text
    city = api.get("/console/assessment", params={"kind": "district", "period": "2026-11"}, headers=login("leader1"))
    assert "南谯区" in city.text and "来安县" in city.text and 'id="district-scope"' not in city.text
