"""Open311 GeoReport v2 through HTTP, in JSON and XML: discovery, services, definitions, POST (api_key, form
fields, media), GET with filters and extensions, one request, tokens, errors in the specification's format."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from cityloop.cases.models import Case
from cityloop.channels.models import ChannelReport, GazetteerEntry
from tests.integration.test_channels_intake import _exif
from tests.integration.test_channels_public import jpeg

BASE = "/open311/v2"


def create(api, world, fmt="json", grid="341122100001002", files=None, **fields):
    lon, lat = world.point(grid)
    data = {"api_key": "demo", "service_code": "06010", "lat": str(lat), "long": str(lon),
            "description": "人行道上有一堆垃圾", "phone": "13800000000", "first_name": "张", **fields}
    return api.post(f"{BASE}/requests.{fmt}", data=data, files=files)


def accept(api, login, session, public_id: str) -> Case:
    """受理 by an operator: from then on the request is public."""
    case = session.query(Case).filter_by(public_id=public_id).one()
    assert api.post(f"/api/v1/cases/{case.id}/actions/accept", json={}, headers=login("operator1")).status_code == 200
    return case


def xml(response) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def test_discovery_and_services_in_both_formats(api, world):
    doc = api.get(f"{BASE}/discovery.json").json()
    assert doc["endpoints"][0]["url"].endswith("/open311/v2") and "text/xml" in doc["endpoints"][0]["formats"]
    root = xml(api.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and root.find("endpoints/endpoint/formats/format").text == "text/xml"
    services = api.get(f"{BASE}/services.json").json()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["06010"] == {**by_code["06010"], "service_name": "暴露垃圾", "group": "市容环境类",
                                "type": "realtime", "metadata": True}
    root = xml(api.get(f"{BASE}/services.xml"))
    assert [e.find("service_code").text for e in root.findall("service")] == sorted(by_code)
    assert root.find("service/metadata").text == "true"


def test_service_definition_comes_from_filing_conditions(api, world):
    doc = api.get(f"{BASE}/services/01001.json").json()
    condition = doc["attributes"][0]
    assert condition["code"] == "condition" and condition["datatype"] == "singlevaluelist"
    assert [v["key"] for v in condition["values"]] == ["01", "02"]
    root = xml(api.get(f"{BASE}/services/01001.xml"))
    assert root.tag == "service_definition"
    assert [v.text for v in root.findall("attributes/attribute/values/value/key")] == ["01", "02"]
    missing = api.get(f"{BASE}/services/99999.xml")
    assert missing.status_code == 404 and xml(missing).find("error/code").text == "404"
    assert api.get(f"{BASE}/services/06010.html").status_code == 404


def test_post_then_follow_the_request_to_closed(api, world, login, session):
    r = create(api, world, **{"attribute[condition]": "01", "media_url": "https://img.example/1.jpg",
                              "device_id": "dev-1"})
    assert r.status_code == 200, r.text
    [doc] = r.json()
    number = doc["service_request_id"]
    assert "token" not in doc and doc["service_notice"]
    case = session.query(Case).filter_by(public_id=number).one()
    assert (case.source, case.needs_verification, case.reporter_phone, case.reporter_name) == (
        "open311", True, "13800000000", "张")
    row = session.query(ChannelReport).filter_by(case_id=case.id).one()
    assert row.media_url == "https://img.example/1.jpg" and row.attributes == {"condition": "01"}
    assert api.get(f"{BASE}/requests/{number}.json").status_code == 404  # public only once an operator accepted it
    accept(api, login, session, number)
    one = api.get(f"{BASE}/requests/{number}.json").json()
    assert len(one) == 1 and one[0]["status"] == "open" and "media_url" not in one[0]  # not looked at yet
    assert "expected_datetime" not in one[0] and "agency_responsible" not in one[0]
    assert api.put(f"/api/v1/cases/{case.id}/publication", json={"media_url": True},
                   headers=login("operator1")).status_code == 200
    assert api.get(f"{BASE}/requests/{number}.json").json()[0]["media_url"] == "https://img.example/1.jpg"
    for user, action, body in [("inspector01", "verify_ok", {}), ("lead1", "file", {}),
                               ("dispatcher1", "dispatch", {"department_code": "d01"})]:
        assert api.post(f"/api/v1/cases/{case.id}/actions/{action}", json=body, headers=login(user)).status_code == 200
    [doc] = api.get(f"{BASE}/requests/{number}.json?extensions=true").json()
    assert doc["agency_responsible"] == "县城管执法局" and doc["expected_datetime"] == "2026-11-23T07:00:00Z"  # 4 working hours
    ext = doc["extended_attributes"]
    assert (ext["channel"], ext["stage"], ext["department_code"], ext["duplicate"]) == ("open311", "dispatched", "d01",
                                                                                       False)
    assert [n["type"] for n in doc["notes"]] == ["report", "accept", "verify_ok", "file", "dispatch"]
    assert "13800000000" not in str(doc)
    for user, action, body in [("d01", "handle", {"result": "已清运"}), ("inspector01", "check_ok", {}),
                               ("lead1", "close", {})]:
        assert api.post(f"/api/v1/cases/{case.id}/actions/{action}", json=body, headers=login(user)).status_code == 200
    root = xml(api.get(f"{BASE}/requests/{number}.xml"))
    [request] = root.findall("request")
    assert request.find("status").text == "closed" and request.find("service_code").text == "06010"
    assert request.find("updated_datetime").text == request.find("requested_datetime").text  # the clock stood still
    token = api.get(f"{BASE}/tokens/{row.tracking_code}.json").json()
    assert token == [{"service_request_id": number, "token": row.tracking_code}]


def test_post_by_address_and_with_a_photo(api, world, session, login):
    lon, lat = world.point("341122100001004")
    session.add(GazetteerEntry(name="建设路", kind="road", lon=lon, lat=lat, source="test"))
    session.commit()
    r = create(api, world, fmt="xml", lat="", long="", address_string="建设路88号门口",
               files=[("media", ("a.jpg", jpeg(exif=_exif(lon, lat, "2026:11:23 08:55:00")), "image/jpeg"))])
    assert r.status_code == 200, r.text
    number = xml(r).find("request/service_request_id").text
    case = accept(api, login, session, number)
    assert case.grid_code == "341122100001004" and case.address == "建设路88号门口"
    [doc] = api.get(f"{BASE}/requests/{number}.json").json()
    assert "media_url" not in doc  # a citizen's photo is public only once staff have looked at it
    [photo] = api.get(f"/api/v1/cases/{case.id}/photos", headers=login("operator1")).json()
    assert api.put(f"/api/v1/cases/{case.id}/publication", json={"photo_ids": [photo["id"]]},
                   headers=login("operator1")).json() == {"photo_ids": [photo["id"]], "media_url": False}
    [doc] = api.get(f"{BASE}/requests/{number}.json").json()
    assert doc["media_url"].endswith(".jpg")
    media = api.get(doc["media_url"].replace("http://testserver", ""))
    assert media.status_code == 200 and media.headers["content-type"] == "image/jpeg"
    # the public copy is re-encoded without EXIF (the citizen's position, device); staff keep the original as evidence
    assert not Image.open(io.BytesIO(media.content)).getexif()
    original = api.get(photo["url"], headers=login("operator1")).content
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("fields, files, status, code", [
    ({"api_key": ""}, None, 403, 403),
    ({"api_key": "wrong"}, None, 403, 403),
    ({"service_code": "99999"}, None, 404, 404),
    ({"service_code": ""}, None, 400, 400),
    ({"lat": "30.0", "long": "120.0"}, None, 400, "outside-district"),
    ({"lat": "", "long": ""}, None, 400, 400),
    ({"description": "长" * 10_000}, None, 400, "description-too-long"),
    ({"attribute[condition]": "77"}, None, 400, 400),
    ({}, [("media", ("big.jpg", jpeg() + b"\0" * (20 * 1024 * 1024), "image/jpeg"))], 400, 413),
    ({}, [("media", ("x.jpg", b"%PDF-1.4 not an image", "image/jpeg"))], 400, 415),
])
def test_bad_posts_get_the_spec_error_and_create_nothing(api, world, session, fmt, fields, files, status, code):
    r = create(api, world, fmt=fmt, files=files, **fields)
    assert r.status_code == status, r.text
    if fmt == "json":
        [err] = r.json()
        assert err["code"] == code and err["description"]
    else:
        assert xml(r).find("error/code").text == str(code)
    assert session.query(Case).count() == 0


def test_get_requests_filters_pages_and_limits(api, world, clock, login, session):
    numbers = [create(api, world, service_code=c).json()[0]["service_request_id"] for c in ("06010", "09006", "06010")]
    assert api.get(f"{BASE}/requests.json").json() == []  # none accepted yet
    for number in numbers:
        accept(api, login, session, number)
    everything = api.get(f"{BASE}/requests.json").json()
    assert [d["service_request_id"] for d in everything] == numbers[::-1]
    assert len(api.get(f"{BASE}/requests.json?service_code=09006").json()) == 1
    assert len(api.get(f"{BASE}/requests.json?status=open,closed").json()) == 3
    assert api.get(f"{BASE}/requests.json?status=closed").json() == []
    assert api.get(f"{BASE}/requests.json?status=pending").status_code == 400
    assert len(api.get(f"{BASE}/requests.json?service_request_id={numbers[0]},{numbers[2]}&status=closed").json()) == 2
    page = api.get(f"{BASE}/requests.json?page=2&page_size=2").json()
    assert [d["service_request_id"] for d in page] == [numbers[0]]
    assert api.get(f"{BASE}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-11-20T00:00:00Z"
                   ).json() == []  # more than 90 days: cut to the 90 days before end_date
    assert len(api.get(f"{BASE}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-11-30T00:00:00Z"
                       ).json()) == 3
    assert api.get(f"{BASE}/requests.json?start_date=2026-11-30T00:00:00Z&end_date=2026-11-01T00:00:00Z"
                   ).json() == []  # an empty range
    assert api.get(f"{BASE}/requests.json?start_date=yesterday").status_code == 400
    assert len(api.get(f"{BASE}/requests.json?start_date=2026-11-23T00:00:00%2B08:00&end_date=").json()) == 3
    assert api.get(f"{BASE}/requests.json?updated_after=2026-11-24T00:00:00Z").json() == []
    root = xml(api.get(f"{BASE}/requests.xml?service_code=09006"))
    assert [r.find("service_request_id").text for r in root.findall("request")] == [numbers[1]]
    assert api.get(f"{BASE}/requests/LA0.json").status_code == 404
    assert xml(api.get(f"{BASE}/tokens/NOPE.xml")).find("error/code").text == "404"


def test_several_jurisdictions(api, world, settings, login, session):
    settings.open311_jurisdictions = {"laian.gov.cn": "341122", "other.gov.cn": "341100"}
    assert api.get(f"{BASE}/services.json").status_code == 400
    assert api.get(f"{BASE}/services.json?jurisdiction_id=nowhere").status_code == 404
    assert api.get(f"{BASE}/services.json?jurisdiction_id=laian.gov.cn").status_code == 200
    assert create(api, world, jurisdiction_id="other.gov.cn").status_code == 400  # the point is in 341122
    number = create(api, world, jurisdiction_id="laian.gov.cn").json()[0]["service_request_id"]
    accept(api, login, session, number)
    assert api.get(f"{BASE}/requests/{number}.json?jurisdiction_id=other.gov.cn").status_code == 404
    assert len(api.get(f"{BASE}/requests.json?jurisdiction_id=laian.gov.cn").json()) == 1


def test_a_tracking_code_clash_is_written_again_with_a_fresh_code(api, world, session, monkeypatch):
    from cityloop.channels import domain
    from cityloop.open311 import create as open311_create

    first = create(api, world).json()[0]["service_request_id"]
    taken = session.query(ChannelReport).join(Case, Case.id == ChannelReport.case_id).filter(
        Case.public_id == first).one().tracking_code
    codes = iter([taken])  # the new request draws the first request's code; the retry a fresh one
    monkeypatch.setattr(open311_create, "new_tracking_code", lambda: next(codes))
    monkeypatch.setattr("cityloop.channels.service.new_tracking_code", lambda: next(codes, domain.new_tracking_code()))
    r = create(api, world, description="另一处垃圾")
    assert r.status_code == 200, r.text
    case = session.query(Case).filter_by(public_id=r.json()[0]["service_request_id"]).one()
    row = session.query(ChannelReport).filter_by(case_id=case.id).one()
    assert row.tracking_code != taken and case.description == "另一处垃圾"
