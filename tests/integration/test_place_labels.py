"""Every case shows its place: a report without an address gets the reverse-geocoded label at intake, through the
core API, 拍一拍 and Open311, and the case page shows it; the places index is rebuilt off the request path."""

from __future__ import annotations

import threading
import time

import pytest

from cityloop.cases.models import Case
from cityloop.channels.models import ChannelReport
from cityloop.places import store
from cityloop.places.models import PlaceAddress
from tests.integration import test_channels_public, test_open311
from tests.integration.test_places import LON0, Y, places  # noqa: F401

AT = (LON0 + 0.0026, Y + 0.0002)  # beside the door plate 永阳路 88号
LABEL = "永阳路 88号附近"


def _core(api, login, session):
    r = api.post("/api/v1/cases", headers=login("operator1"), json={
        "category_code": "06010", "lon": AT[0], "lat": AT[1], "description": "路边垃圾", "source": "hotline"})
    assert r.status_code == 201, r.text
    assert r.json()["address"] == LABEL
    return session.get(Case, r.json()["id"])


def _public(api, world, session):
    r = test_channels_public.post(api, world, lon=str(AT[0]), lat=str(AT[1]), category_code="06010")
    assert r.status_code == 201, r.text
    report = session.query(ChannelReport).filter_by(tracking_code=r.json()["tracking_code"]).one()
    return session.get(Case, report.case_id)


def _open311(api, world, session):
    r = test_open311.create(api, world, lat=str(AT[1]), long=str(AT[0]))
    assert r.status_code in (200, 201), r.text
    return session.query(Case).filter_by(public_id=r.json()[0]["service_request_id"]).one()


@pytest.mark.parametrize("channel", ["core", "public", "open311"])
def test_a_report_without_an_address_gets_its_place(api, places, login, session, channel):  # noqa: F811
    case = {"core": lambda: _core(api, login, session), "public": lambda: _public(api, places, session),
            "open311": lambda: _open311(api, places, session)}[channel]()
    session.refresh(case)
    assert case.address == LABEL
    page = api.get(f"/console/cases/{case.id}", headers=login("operator1"))
    assert page.status_code == 200 and LABEL in page.text
    assert api.get(f"/api/v1/cases/{case.id}/events", headers=login("operator1")).status_code in (200, 404)


def test_a_given_address_is_kept(api, places, login):  # noqa: F811
    r = api.post("/api/v1/cases", headers=login("operator1"), json={
        "category_code": "06010", "lon": AT[0], "lat": AT[1], "description": "路边垃圾", "source": "hotline",
        "address": "新安镇政府东侧"})
    assert r.json()["address"] == "新安镇政府东侧"


def test_a_rebuild_never_blocks_a_lookup(api, places, session, monkeypatch):  # noqa: F811
    near_new = f"/api/v1/geo/reverse?lon={LON0 + 0.0005}&lat={Y + 0.0002}"
    assert api.get(near_new).json()["name"] == "永阳路 17号附近"  # builds the first index
    session.add(PlaceAddress(road="永阳路", number=9, town="新安镇", lon=LON0 + 0.0005, lat=Y + 0.0001,
                             source="test"))
    session.commit()
    fresh = store.build(session, store.fingerprint(session))  # what the background build will produce
    started, release = threading.Event(), threading.Event()

    def slow_build(_session, fp):
        started.set()
        release.wait(10)
        return fresh

    monkeypatch.setattr(store, "SYNC_BUILD_MAX", 0)  # every rebuild counts as a large one
    monkeypatch.setattr(store, "build", slow_build)
    t0 = time.monotonic()
    for _ in range(5):  # the rebuild is under way: lookups go on, at once, with the previous index
        assert api.get(near_new).json()["name"] == "永阳路 17号附近"
    assert started.wait(5) and time.monotonic() - t0 < 5
    release.set()
    for _ in range(100):
        if api.get(near_new).json()["name"] == "永阳路 9号附近":
            break
        time.sleep(0.05)
    assert api.get(near_new).json()["name"] == "永阳路 9号附近"  # swapped in
