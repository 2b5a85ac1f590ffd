"""便民服务 records with their monthly figures, the closed-case disclosure without personal data, the public pages
over HTTP, and the demo data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from cityloop.public import demo
from cityloop.public.models import CallAttempt, CallCampaign, ConvenienceRecord, QrPlacement, ServicePoint
from tests.conftest import SHANGHAI
from tests.integration.public_kit import add_ad_matter, open_case

API = "/api/v1/public"


def log(api, login, user="inspector01", expect=201, **body):
    r = api.post(f"{API}/convenience", headers=login(user), json={"people": 1, **body})
    assert r.status_code == expect, r.text
    return r.json()


def test_services_given_and_the_month_figures(api, world, login):
    lon, lat = world.point("341122100001003")
    log(api, login, kind="directions", description="为外地游客指路去汽车站", people=3, lon=lon, lat=lat)
    found = log(api, login, kind="lost_found", description="拾到钱包", items="黑色钱包一个")
    log(api, login, kind="lost_person", description="走失老人", handed_to="家属", thanks_letters=1, banners=1)
    log(api, login, kind="escort_hospital", description="护送中暑老人就医", at="2026-10-30T10:00:00+08:00")
    assert found["recorded_by_name"] == "inspector01"
    r = api.post(f"{API}/convenience/{found['id']}/claim", headers=login("inspector02"), json={"claimed_by": "张先生"})
    assert r.status_code == 200 and r.json()["claimed_by"] == "张先生"
    assert api.post(f"{API}/convenience/{found['id']}/claim", headers=login("inspector02"),
                    json={"claimed_by": "李"}).status_code == 409
    stats = api.get(f"{API}/convenience/stats?month=2026-11", headers=login("leader1")).json()
    assert (stats["records"], stats["people"], stats["thanks_letters"], stats["banners"]) == (3, 5, 1, 1)
    assert stats["by_kind"]["directions"] == {"name": "指路", "name_en": "Directions", "records": 1, "people": 3}
    assert stats["unclaimed_items"] == 0
    october = api.get(f"{API}/convenience/stats?month=2026-10", headers=login("leader1")).json()
    assert october["records"] == 1 and october["by_kind"]["escort_hospital"]["records"] == 1
    listed = api.get(f"{API}/convenience?month=2026-11&kind=directions", headers=login("operator1")).json()
    assert [r["grid_code"] for r in listed] == ["341122100001003"]


def test_record_rules(api, world, login):
    log(api, login, kind="lost_found", description="拾到物品", expect=422)  # what was found?
    log(api, login, kind="lost_person", description="走失儿童", expect=422)  # handed to whom?
    log(api, login, kind="directions", description="指路", lon=118.43, expect=422)  # half a position
    log(api, login, kind="directions", description="指路", at="2026-11-24T09:00:00+08:00", expect=422)  # future
    log(api, login, kind="directions", description="指路", at="2020-01-01T09:00:00+08:00", expect=422)  # too old
    log(api, login, kind="directions", description="指路", at="2026-11-23T08:00:00", expect=422)  # no time zone
    log(api, login, kind="spying", description="x", expect=422)
    log(api, login, kind="directions", description="指路", user="d01", expect=403)
    assert api.get(f"{API}/convenience/stats?month=2026-13", headers=login("leader1")).status_code == 422
    claim = api.post(f"{API}/convenience/999/claim", headers=login("inspector01"), json={"claimed_by": "x"})
    assert claim.status_code == 404
    directions = log(api, login, kind="directions", description="指路")
    claim = api.post(f"{API}/convenience/{directions['id']}/claim", headers=login("inspector01"),
                     json={"claimed_by": "x"})
    assert claim.status_code == 409


def test_closed_cases_are_public_without_personal_data(api, world, login, session, settings, clock):
    r = api.post("/api/v1/cases", headers=login("inspector01"), json={
        "category_code": "06010", "lon": 118.430512, "lat": 32.449488, "description": "张三家门口垃圾 13812345678",
        "address": "人民路 12 号张三家"})
    assert r.status_code == 201, r.text
    case = r.json()
    for action, user, body in [("accept", "operator1", None), ("file", "lead1", None), ("dispatch", "dispatcher1", {"department_code": "d01"}),
                               ("handle", "d01", {"result": "已清理"}), ("check_ok", "inspector01", None),
                               ("close", "lead1", None)]:
        r = api.post(f"/api/v1/cases/{case['id']}/actions/{action}", headers=login(user), json=body)
        assert r.status_code == 200, (action, r.text)
    open_case(session, settings, clock, world, code="06010")  # an open case is not shown
    fc = api.get(f"{API}/closed-cases").json()
    assert len(fc["features"]) == 1
    feature = fc["features"][0]
    assert feature["geometry"]["coordinates"] == [118.431, 32.449]
    assert feature["properties"] == {"category_code": "06010", "category": "暴露垃圾", "major": "市容环境类",
                                     "closed_on": "2026-11-23"}
    text = api.get(f"{API}/closed-cases").text
    assert "13812345678" not in text and "张三" not in text and case["number"] not in text


def test_public_pages_need_no_login(api, world):
    for path, marker in [("/public", "/public/rankings"), ("/public/services", "services-map"),
                         ("/public/cases", "cases-map"), ("/static/public/guide.js", "publicMap")]:
        r = api.get(path)
        assert r.status_code == 200 and marker in r.text, path
    index = api.get("/public").text
    for link in ("/public/permits", "/public/warnings", "/m/report", "/public/services", "/public/cases"):
        assert f'href="{link}"' in index
    assert api.get("/static/public/../pages.py").status_code == 404
    assert api.get("/public", headers={"Accept-Language": "en"}).status_code == 200


def test_console_pages(api, world, login, session, settings, clock):
    add_ad_matter(session)
    demo.build(session, settings, clock.now())
    campaign = session.scalars(select(CallCampaign)).one()
    for path, marker in [("/console/public", "红色驿站·1号"), ("/console/public?kind=toilet", "第1号公厕"),
                         ("/console/public/placements", "演示批次"), ("/console/public/convenience", "month-figures"),
                         ("/console/public/campaigns", "13900001234"),
                         (f"/console/public/campaigns/{campaign.id}", "zhuihu-warning-1.wav")]:
        r = api.get(path, headers=login("operator1"), follow_redirects=False)
        assert r.status_code == 200 and marker in r.text, path
    assert api.get("/console/public/campaigns/999", headers=login("operator1")).status_code == 404
    assert api.get("/console/public", follow_redirects=False).status_code == 303
    assert api.get("/console/public", headers=login("d01")).status_code == 403
    assert 'href="/console/public"' in api.get("/console", headers=login("operator1")).text  # the menu entry


def test_demo_data(session, settings, world, clock):
    add_ad_matter(session)
    demo.build(session, settings, datetime(2026, 11, 25, 11, 0, tzinfo=SHANGHAI))
    count = lambda model, *where: session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
    assert count(ServicePoint, ServicePoint.kind == "toilet", ServicePoint.free.is_(True),
                 ServicePoint.drinking_water.is_(True)) == 31
    assert count(ServicePoint, ServicePoint.kind == "red_station", ServicePoint.kit.is_not(None)) >= 50
    assert count(ServicePoint, ServicePoint.grid_code.is_(None)) == 0  # all inside the urban grids
    assert count(QrPlacement) > 0 and count(ConvenienceRecord) > 100
    [campaign] = session.scalars(select(CallCampaign)).all()
    assert campaign.status == "running" and campaign.calls == count(CallAttempt) > 3
    assert campaign.next_call_at > datetime(2026, 11, 25, 11, 0, tzinfo=SHANGHAI)
