"""What the public Open311 feed shows of a citizen's report, driven as a stranger would read it: nothing until an
operator has accepted it (受理), then a rounded position and no personal data, photos only once staff publish them,
and ids that cannot be counted through."""

from __future__ import annotations

import re

import pytest

from cityloop.cases.models import Case
from tests.integration.test_channels_public import jpeg

BASE = "/open311/v2"
PHONE, NAME, EMAIL = "13800000000", "王小明", "wxm@example.cn"


def post(api, world, files=None, headers=None, api_key="demo", **fields):
    lon, lat = world.point("341122100001002")
    data = {"api_key": api_key, "service_code": "06010", "lat": f"{lat + 0.000123:.6f}", "long": f"{lon:.6f}",
            "description": "垃圾堆在我家门口，联系我 13912345678", "address_string": "建设路88号3单元",
            "phone": PHONE, "first_name": NAME, "email": EMAIL, **fields}
    r = api.post(f"{BASE}/requests.json", data=data, files=files, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()[0]["service_request_id"]


def feed(api, **query) -> list[dict]:
    r = api.get(f"{BASE}/requests.json", params={"extensions": "true", **query})
    assert r.status_code == 200, r.text
    return r.json()


def act(api, login, session, public_id: str, action: str, user: str) -> Case:
    case = session.query(Case).filter_by(public_id=public_id).one()
    r = api.post(f"/api/v1/cases/{case.id}/actions/{action}", json={}, headers=login(user))
    assert r.status_code == 200, r.text
    session.refresh(case)
    return case


def test_a_fresh_report_is_public_only_after_acceptance(api, world, login, session):
    public_id = post(api, world, files=[("media", ("a.jpg", jpeg(), "image/jpeg"))])
    assert feed(api) == [] and api.get(f"{BASE}/requests.xml").content.endswith(b"<service_requests />")
    assert api.get(f"{BASE}/requests/{public_id}.json").status_code == 404
    assert feed(api, service_request_id=public_id) == []
    case = act(api, login, session, public_id, "accept", "operator1")
    [doc] = feed(api)
    assert doc["service_request_id"] == public_id and doc["status"] == "open"
    assert (doc["lat"], doc["long"]) == (round(case.lat, 3), round(case.lon, 3)) != (case.lat, case.lon)
    assert doc["address"] == "建设路88号3单元" and doc["description"].startswith("垃圾堆在我家门口")
    assert "13912345678" not in doc["description"] and "139" in doc["description"]  # a number in the text is masked
    assert "media_url" not in doc and doc["extended_attributes"]["photos"] == []  # not looked at: no photo
    text = api.get(f"{BASE}/requests/{public_id}.json?extensions=true").text
    assert not [s for s in (PHONE, NAME, EMAIL, "13912345678", case.number) if s in text]
    # a photo is public once staff publish it, and only through the published request
    [photo] = api.get(f"/api/v1/cases/{case.id}/photos", headers=login("operator1")).json()
    assert api.get(f"{BASE}/media/{public_id}/{photo['id']}.jpg").status_code == 404
    assert api.put(f"/api/v1/cases/{case.id}/publication", json={"photo_ids": [photo["id"]]},
                   headers=login("operator1")).status_code == 200
    [doc] = feed(api)
    assert doc["media_url"] == f"http://testserver{BASE}/media/{public_id}/{photo['id']}.jpg"
    assert api.get(doc["media_url"]).headers["content-type"] == "image/jpeg"
    assert api.get(f"{BASE}/media/{photo['id']}.jpg").status_code in (404, 405)  # no sequential photo address
    # withdrawn again: gone from the feed, and so is its photo
    assert api.put(f"/api/v1/cases/{case.id}/publication", json={}, headers=login("operator1")).json() == {
        "photo_ids": [], "media_url": False}
    assert api.get(doc["media_url"]).status_code == 404


def test_a_report_refused_at_acceptance_never_shows(api, world, login, session):
    public_id = post(api, world)
    case = session.query(Case).filter_by(public_id=public_id).one()
    r = api.post(f"/api/v1/cases/{case.id}/actions/reject", json={"note": "恶意上报"}, headers=login("operator1"))
    assert r.status_code == 200, r.text
    assert feed(api) == [] and feed(api, status="closed") == []
    assert api.get(f"{BASE}/requests/{public_id}.json").status_code == 404


def test_ids_cannot_be_counted_through(api, world, login, session):
    ids = [post(api, world) for _ in range(3)]
    for public_id in ids:
        act(api, login, session, public_id, "accept", "operator1")
    assert all(re.fullmatch(r"[a-z2-7]{16}", i) for i in ids) and len(set(ids)) == 3
    numbers = [session.query(Case.number).filter_by(public_id=i).scalar() for i in ids]
    assert numbers == sorted(numbers)  # the internal numbers count up; none of them is public
    for number in numbers:
        assert api.get(f"{BASE}/requests/{number}.json").status_code == 404
        assert api.get(f"{BASE}/requests/{number}.xml").status_code == 404
    assert feed(api, service_request_id=",".join(numbers)) == []
    assert {d["service_request_id"] for d in feed(api)} == set(ids)


@pytest.mark.parametrize("publish_after, before, after_accept", [
    ("immediately", True, True), ("accepted", False, True), ("closed", False, False)])
def test_the_publishing_setting(api, world, login, session, settings, publish_after, before, after_accept):
    settings.open311_publish_after = publish_after
    public_id = post(api, world)
    listed = feed(api)
    assert bool(listed) == before
    if before:  # listed at once, but its own words and address wait for review
        assert "description" not in listed[0] and "建设路" not in listed[0]["address"]
    act(api, login, session, public_id, "accept", "operator1")
    assert bool(feed(api)) == after_accept


def test_positions_are_rounded_as_configured(api, world, login, session, settings):
    settings.open311_position_decimals = 2
    public_id = post(api, world)
    case = act(api, login, session, public_id, "accept", "operator1")
    [doc] = api.get(f"{BASE}/requests/{public_id}.json").json()
    assert (doc["lat"], doc["long"]) == (round(case.lat, 2), round(case.lon, 2))


def test_publishing_photos_is_for_reviewers_and_checked(api, world, login, session):
    public_id = post(api, world, media_url="https://img.example/p.jpg")
    case = act(api, login, session, public_id, "accept", "operator1")
    url = f"/api/v1/cases/{case.id}/publication"
    assert api.put(url, json={"media_url": True}, headers=login("dispatcher1")).status_code == 403
    assert api.put(url, json={"media_url": True}).status_code == 401
    bad = api.put(url, json={"photo_ids": [999999]}, headers=login("operator1"))
    assert bad.status_code == 422 and bad.json()["code"] == "unknown-photo"
    assert "media_url" not in api.get(f"{BASE}/requests/{public_id}.json").json()[0]
    assert api.put(url, json={"media_url": True}, headers=login("lead1")).status_code == 200
    assert api.get(f"{BASE}/requests/{public_id}.json").json()[0]["media_url"] == "https://img.example/p.jpg"
    assert api.get(url, headers=login("operator1")).json() == {"photo_ids": [], "media_url": True}


# --- Idempotency-Key: a caller's own ---

def test_open311_keys_are_scoped_to_the_api_key(api, world, session, clock):
    from cityloop.channels.service import add_key

    for name in ("app-a", "app-b"):
        add_key(session, "open311", name, f"key-of-{name}-0123456789", clock.now())
    session.commit()
    key = {"Idempotency-Key": "same-key-1"}
    a = post(api, world, headers=key, api_key="key-of-app-a-0123456789")
    b = post(api, world, headers=key, api_key="key-of-app-b-0123456789")
    assert a != b and session.query(Case).count() == 2  # another client's key finds nothing of a's
    assert post(api, world, headers=key, api_key="key-of-app-a-0123456789") == a  # a retry: the same request
    lon, lat = world.point("341122100001002")
    r = api.post(f"{BASE}/requests.json", headers=key, data={
        "api_key": "key-of-app-a-0123456789", "service_code": "06010", "lat": str(lat), "long": str(lon),
        "description": "另一件事"})
    assert r.status_code == 400 and r.json()[0]["code"] == 422  # the same key with another body is refused
    assert session.query(Case).count() == 2


def test_public_report_keys_are_scoped_to_the_client(app, world, session):
    from starlette.testclient import TestClient

    lon, lat = world.point("341122100001002")
    form = {"lon": str(lon), "lat": str(lat), "category_code": "06010", "description": "路边垃圾"}

    def report(ip: str) -> dict:
        with TestClient(app, client=(ip, 40000)) as client:
            r = client.post("/api/v1/channels/public/reports", data=form, headers={"Idempotency-Key": "k-1"},
                            files=[("photos", ("p.jpg", jpeg(), "image/jpeg"))])
        assert r.status_code in (200, 201), r.text
        return r.json()

    first, other, again = report("10.0.0.1"), report("10.0.0.2"), report("10.0.0.1")
    assert first["tracking_code"] != other["tracking_code"] and other["created"]  # not the first citizen's report
    assert again["tracking_code"] == first["tracking_code"] and not again["created"]
    assert session.query(Case).count() == 2


def test_staff_report_keys_are_scoped_to_the_user(api, world, login, session):
    lon, lat = world.point("341122100001002")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"}
    first = api.post("/api/v1/cases", json=body, headers={**login("inspector01"), "Idempotency-Key": "k-1"})
    other = api.post("/api/v1/cases", json=body, headers={**login("operator1"), "Idempotency-Key": "k-1"})
    again = api.post("/api/v1/cases", json=body, headers={**login("inspector01"), "Idempotency-Key": "k-1"})
    assert (first.status_code, other.status_code, again.status_code) == (201, 201, 200)
    assert other.json()["id"] != first.json()["id"] == again.json()["id"]
