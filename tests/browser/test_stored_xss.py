"""Stored XSS in a real browser: names anyone can type (a service point, a device and its address, a case
description, a department, a duty grid, a user, a company) carry markup and script. Every page that shows them
(lists, Leaflet popups and tooltips) shows the text literally, and no dialog ever opens."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.sync_api import expect
from sqlalchemy import update

from cityloop.db import make_engine, make_session_factory
from cityloop.fleet.models import Company
from cityloop.geo.models import DutyGrid
from cityloop.org.models import Department, User
from tests.fleet_world import drive, seed_fleet
from tests.integration.public_kit import point_body
from tests.integration.sensors_kit import seed_sensors
from tests.live import LAPTOP, browser, live  # noqa: F401

XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def _name(what: str) -> str:
    return f"{what}{XSS}"


def _headers(server, user: str) -> dict:
    token = httpx.post(f"{server.url}/api/v1/auth/token", data={"username": user, "password": "demo"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _watched(browser, server=None, user=None):  # noqa: F811
    """A page that records every dialog (an alert is the attacker's script running) and page error."""
    page = browser.new_page(viewport=LAPTOP)
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    if user:
        server.login(page, user)
    return page


def _literal(locator, text: str) -> None:
    """The element shows the text as text: the markup became no element."""
    expect(locator).to_contain_text(text)
    assert locator.locator("img, script").count() == 0


def _shown(page, shapes: str, event: str, box: str) -> set[str]:
    """Send `event` to every shape in turn (a click opens a popup, a mouseover a tooltip): what the boxes showed."""
    shown = set()
    page.locator(shapes).first.wait_for(state="attached")  # the layers come after the map and its data have loaded
    for i in range(page.locator(shapes).count()):
        page.locator(shapes).nth(i).dispatch_event(event)
        page.wait_for_timeout(250)  # popups fade in; shapes without one show nothing
        shown.update(page.locator(box).all_inner_texts())
        assert page.locator(f"{box} img, {box} script").count() == 0
        if event == "mouseover":
            page.locator(shapes).nth(i).dispatch_event("mouseout")
    return shown


def _popups(page, markers: str) -> set[str]:
    return _shown(page, markers, "click", ".leaflet-popup-content")


def _tooltips(page, shapes: str) -> set[str]:
    return _shown(page, shapes, "mouseover", ".leaflet-tooltip")


def test_service_point_names_on_the_public_map_and_qr_page(live, browser):  # noqa: F811
    headers = _headers(live, "operator1")
    lon, lat = live.world.point("341122100001001")
    name = _name("人民路公厕")
    r = httpx.post(f"{live.url}/api/v1/public/service-points", headers=headers,
                   json=point_body("toilet", lon + 0.001, lat, name=name, hours="08:00-20:00"))
    assert r.status_code == 201 and r.json()["name"] == name
    placement = httpx.post(f"{live.url}/api/v1/public/placements", headers=headers,
                           json={"label": _name("北门"), "lon": lon, "lat": lat, "batch": "xss"}).json()

    page = _watched(browser)
    page.goto(f"{live.url}/public/services")
    _literal(page.locator("#service-list"), name)
    assert _popups(page, "#services-map .leaflet-interactive") == {name}
    page.goto(f"{live.url}/public/q/{placement['code']}")
    _literal(page.locator("main"), name)
    _literal(page.locator("#where"), _name("北门"))
    assert name in _popups(page, "#guide-map .leaflet-interactive")
    assert page.dialogs == [] and page.errors == []
    page.close()


def test_device_names_on_the_warnings_and_monitoring_pages(live, browser):  # noqa: F811
    name, address = _name("北门积水"), _name("北门路")
    with make_session_factory(make_engine(live.settings.database_url))() as session:
        seed_sensors(session, live.world, live.settings, live.clock.now())
    headers = _headers(live, "admin")
    r = httpx.patch(f"{live.url}/api/v1/sensors/devices/WL-1", headers=headers, json={"name": name, "address": address})
    assert r.status_code == 200, r.text
    for minutes in (-2, -1):  # two deep readings: the underpass is closed and a public warning goes out
        ts = (live.clock.now() + timedelta(minutes=minutes)).isoformat()
        r = httpx.post(f"{live.url}/api/v1/telemetry", headers=headers,
                       json={"readings": [{"device_id": "WL-1", "ts": ts, "values": {"depth_cm": 45}}]})
        assert r.status_code == 200 and r.json()["accepted"] == 1

    page = _watched(browser)
    page.goto(f"{live.url}/public/warnings")
    _literal(page.locator(".warnings"), address)
    assert _popups(page, "#warn-map .leaflet-interactive") == {address}
    live.login(page, "dispatcher1")
    page.goto(f"{live.url}/console/sensors")
    _literal(page.locator("#device-table"), name)
    assert any(name in shown for shown in _popups(page, "#sensor-map .leaflet-interactive"))
    assert page.dialogs == [] and page.errors == []
    page.close()


def test_case_department_grid_and_user_names_on_the_console_and_screen(live, browser):  # noqa: F811
    with make_session_factory(make_engine(live.settings.database_url))() as session:
        session.execute(update(User).where(User.username == "operator1").values(display_name=_name("接线员")))
        session.execute(update(Department).values(name=Department.name + XSS))
        session.execute(update(DutyGrid).values(name=DutyGrid.name + XSS))
        session.commit()
    token = _headers(live, "operator1")
    lon, lat = live.world.point("341122100001002")
    description = _name("路口垃圾堆积")
    case = httpx.post(f"{live.url}/api/v1/cases", headers=token, json={
        "category_code": "06010", "lon": lon, "lat": lat, "description": description, "source": "hotline",
        "address": _name("北门路口")}).json()

    page = _watched(browser, live, "admin")
    page.goto(f"{live.url}/console/cases/{case['id']}")
    _literal(page.locator("main"), description)
    _literal(page.locator("main"), _name("北门路口"))
    page.goto(f"{live.url}/console/admin/grids")
    _literal(page.locator("table.grid"), XSS)
    tips = _tooltips(page, "#grid-map path.leaflet-interactive")
    assert tips and all(XSS in tip for tip in tips)  # the duty grids' names, as text
    page.goto(f"{live.url}/screen")
    _literal(page.locator("#feed"), _name("接线员"))
    tips = _tooltips(page, "#map path.leaflet-interactive")
    assert sum(XSS in tip for tip in tips) >= 2  # the two duty grids' names, as text
    assert page.dialogs == [] and page.errors == []
    page.close()


def test_company_names_on_the_fleet_console(live, browser):  # noqa: F811
    with make_session_factory(make_engine(live.settings.database_url))() as session:
        seed_fleet(session, live.world, live.clock.now())
        session.execute(update(Company).values(name=Company.name + XSS))
        session.commit()
    live.settings.fleet_ingest_token = "browser-token"
    positions = drive("皖MA0001", live.clock.now() - timedelta(minutes=10), 700, 60, 40)
    r = httpx.post(f"{live.url}/api/v1/fleet/positions", json={"positions": positions},
                   headers={"X-Fleet-Token": "browser-token"})
    assert len(r.json()["violations"]) == 1
    page = _watched(browser, live, "cgj")
    page.goto(f"{live.url}/console/fleet")
    page.wait_for_selector("#latest tbody tr")
    _literal(page.locator("#latest"), XSS)
    assert page.dialogs == [] and page.errors == []
    page.close()
