"""一网管全县: a report anywhere inside the district is accepted — where no unit grid exists it is placed by village
and town, routed to the town's 属地 unit and verified by the town's inspector; only a point outside the district is
refused, in plain words. `grids generate --rural` grids villages coarsely."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import box, mapping
from sqlalchemy import select
from typer.testing import CliRunner

from cityloop.cases.models import Case, CaseTask
from cityloop.geo.models import DutyGrid, DutyGridInspector, Region, UnitGrid
from cityloop.geo.queries import build_index, town_duty_grid_code
from cityloop.geo.service import bump_version, generate_rural
from cityloop.org.models import Department, User, UserRole
from cityloop.routing.models import RoutingRule
from tests.integration.test_channels_public import URL as PUBLIC_URL, jpeg

# 12 towns as 0.1° squares in a 4 × 3 block; 新安镇 (100) holds the test world's unit grids at (118.43, 32.45).
TOWNS = ["341122101", "341122100", "341122102", "341122103", "341122104", "341122105", "341122106", "341122107",
         "341122108", "341122109", "341122110", "341122203"]
X0, Y0, SIDE = 118.30, 32.30, 0.1
GRIDDED = TOWNS[::2]  # towns whose villages get coarse cells; the others have no unit grid at all
RULED = TOWNS[:6]  # towns with a 属地 rule (any category → the town); the others fall back to the territorial unit


def town_box(i: int):
    col, row = i % 4, i // 4
    return box(X0 + col * SIDE, Y0 + row * SIDE, X0 + (col + 1) * SIDE, Y0 + (row + 1) * SIDE)


def inside(i: int) -> tuple[float, float]:
    """A point in town i away from the test world's unit grids."""
    c = town_box(i).centroid
    return round(c.x + 0.021, 6), round(c.y - 0.017, 6)


@pytest.fixture
def county(session, world, clock):
    """The test world spread over a whole county: 12 towns, a village in each, a department and an inspector
    per town, half the towns gridded coarsely."""
    now = clock.now()
    session.get(Region, "341122").geometry = json.dumps(mapping(box(X0, Y0, X0 + 4 * SIDE, Y0 + 3 * SIDE)))
    for i, town in enumerate(TOWNS):
        shape = json.dumps(mapping(town_box(i)))
        if session.get(Region, town) is None:
            session.add(Region(code=town, level="street", name=f"第{i + 1}镇", parent_code="341122"))
        session.flush()
        session.get(Region, town).geometry = shape
        session.add(Region(code=f"{town}201", level="community", name=f"第{i + 1}村", parent_code=town,
                           geometry=shape, region_class=2))
        if session.scalar(select(Department).where(Department.territory_code == town)) is None:
            session.add(Department(code=f"t{town[-3:]}", name=f"第{i + 1}镇", group="class2", territory_code=town))
    session.flush()
    bump_version(session)
    session.commit()
    for town in GRIDDED:
        generate_rural(session, town)
    for i, town in enumerate(TOWNS):
        code = town_duty_grid_code(town)
        if session.get(DutyGrid, code) is None:
            session.add(DutyGrid(code=code, name=f"第{i + 1}镇责任网格", district_code="341122"))
        user = User(username=f"insp{town[-3:]}", display_name=f"镇监督员{i}", password_hash="x", created_at=now,
                    roles=[UserRole(role="inspector")])
        session.add(user)
        session.flush()
        world.users[user.username] = user
        session.add(DutyGridInspector(duty_grid_code=code, user_id=user.id))
        if town in RULED:
            dept = session.scalar(select(Department).where(Department.territory_code == town))
            session.add(RoutingRule(category_id=None, area_level="street", area_code=town, department_id=dept.id,
                                    created_at=now))
    bump_version(session)
    session.commit()
    return world


def _town_dept(session, town: str) -> int:
    return session.scalar(select(Department.id).where(Department.territory_code == town))


def _follow(api, login, session, case_id: int, town: str) -> Case:
    """Accept → 核实 by the town's inspector → file; the case must be the town's."""
    r = api.post(f"/api/v1/cases/{case_id}/actions/accept", headers=login("operator1"))
    assert r.status_code == 200, r.text
    task = session.scalar(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.kind == "verify"))
    assert task.duty_grid_code == town_duty_grid_code(town)
    assert session.get(User, task.assignee_id).username == f"insp{town[-3:]}"
    for user, action in [(f"insp{town[-3:]}", "verify_ok"), ("lead1", "file")]:
        r = api.post(f"/api/v1/cases/{case_id}/actions/{action}", json={}, headers=login(user))
        assert r.status_code == 200, (action, r.text)
    session.expire_all()
    case = session.get(Case, case_id)
    assert case.suggested_department_id == _town_dept(session, town)
    assert case.needs_ownership is (town not in RULED)  # no rule: the town is suggested and 确权 flagged
    return case


def test_core_api_files_a_case_in_every_town(api, login, county, session):
    for i, town in enumerate(TOWNS):
        lon, lat = inside(i)
        r = api.post("/api/v1/cases", json={"category_code": "09006", "lon": lon, "lat": lat, "source": "public",
                                            "description": "村口垃圾堆放"}, headers=login("operator1"))
        assert r.status_code == 201, (town, r.text)
        case = session.get(Case, r.json()["id"])
        assert (case.street_code, case.community_code, case.district_code) == (town, f"{town}201", "341122")
        if town in GRIDDED:  # a village cell of `grids generate --rural`
            assert session.get(UnitGrid, case.grid_code).community_code == f"{town}201"
        else:  # no unit grid: placed by the village
            assert case.grid_code == f"{town}201"
        _follow(api, login, session, case.id, town)
    towns = set(session.scalars(select(Case.street_code)))
    assert towns == set(TOWNS)


def test_unit_grids_still_win_in_the_county_seat(api, login, county, session):
    lon, lat = county.point("341122100001001")
    r = api.post("/api/v1/cases", json={"category_code": "09006", "lon": lon, "lat": lat, "description": "x"},
                 headers=login("inspector01"))
    assert r.status_code == 201, r.text
    case = session.get(Case, r.json()["id"])
    assert (case.grid_code, case.duty_grid_code) == ("341122100001001", "DG01")


def test_public_and_open311_reports_inside_towns_are_accepted(api, login, county, session):
    for i in (3, 7, 11):
        town, (lon, lat) = TOWNS[i], inside(i)
        files = [("photos", ("p.jpg", jpeg(), "image/jpeg"))]
        r = api.post(PUBLIC_URL, data={"lon": str(lon), "lat": str(lat), "description": "村道边垃圾堆了好几天",
                                       "category_code": "09006"}, files=files)
        assert r.status_code == 201, r.text
        r = api.post("/open311/v2/requests.json", data={"api_key": "demo", "service_code": "09006", "lat": str(lat),
                                                        "long": str(lon), "description": "村口有垃圾"})
        assert r.status_code == 200 and r.json()[0]["service_request_id"], r.text
        cases = list(session.scalars(select(Case).where(Case.street_code == town)))
        assert len(cases) == 2 and {c.community_code for c in cases} == {f"{town}201"}
        for c in cases:
            if c.stage == "reported":
                _follow(api, login, session, c.id, town)


@pytest.mark.parametrize("lon, lat", [(118.25, 32.45), (120.0, 30.0)])
def test_outside_the_district_is_refused_in_plain_words(api, login, county, session, lon, lat):
    r = api.post("/api/v1/cases", json={"category_code": "09006", "lon": lon, "lat": lat, "description": "x"},
                 headers=login("operator1"))
    assert r.status_code == 422 and r.json()["code"] == "outside-district"
    detail = r.json()["detail"]
    assert "来安县" in detail and "重新选择" in detail
    assert str(lon) not in detail and "341122" not in detail and "网格" not in detail
    files = [("photos", ("p.jpg", jpeg(), "image/jpeg"))]
    r = api.post(PUBLIC_URL, data={"lon": str(lon), "lat": str(lat), "description": "垃圾", "category_code": "09006"},
                 files=files)
    assert r.status_code == 422 and r.json()["code"] == "outside-district" and "来安县" in r.json()["detail"]
    r = api.post("/open311/v2/requests.json", data={"api_key": "demo", "service_code": "09006", "lat": str(lat),
                                                    "long": str(lon), "description": "垃圾"})
    assert r.status_code == 400 and r.json()[0]["code"] == "outside-district"
    assert "来安县" in r.json()[0]["description"] and str(lat) not in r.json()[0]["description"]
    assert session.query(Case).count() == 0


def test_grids_generate_rural(county, session):
    from cityloop.cli import _mount_optional, app as cli

    _mount_optional()
    r = CliRunner().invoke(cli, ["grids", "generate", "--rural", "--community", "341122100201"])
    assert r.exit_code == 2 and "--rural" in r.output  # rural mode grids whole towns or districts
    town = TOWNS[1]  # 新安镇's village has no cells yet (only the seat's communities do)
    report = generate_rural(session, town)
    cells = list(session.scalars(select(UnitGrid).where(UnitGrid.community_code == f"{town}201")))
    # a 0.1° village (≈9.4 × 11 km) cut into ≈1 km cells that cover it, all on the town's duty grid
    assert report.grids == {f"{town}201": len(cells)} and 80 < len(cells) < 130
    assert {c.duty_grid_code for c in cells} == {town_duty_grid_code(town)}
    union = shapely.union_all([shapely.from_geojson(c.geometry) for c in cells])
    assert union.symmetric_difference(town_box(1)).area < 1e-3 * town_box(1).area  # up to projection round-off
    index = build_index(session)
    lon, lat = inside(1)
    place = index.locate(lon, lat)
    assert place.grid_code in {c.code for c in cells} and place.duty_grid_code == town_duty_grid_code(town)
    assert session.scalar(select(UnitGrid.code).where(UnitGrid.code == "341122100001001"))  # seat grids untouched
    assert generate_rural(session, town).grids == {}  # gridded villages are left alone
