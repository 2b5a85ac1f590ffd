"""拍一拍 public reporting through HTTP: a report with photos gets a tracking code, is verified, handled and closed,
and the reporter follows it on the status page and rates it once; bad input creates nothing."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from cityloop.cases.models import Case
from cityloop.channels.models import ChannelReport

URL = "/api/v1/channels/public/reports"


def jpeg(colour=(200, 30, 30), size=(320, 240), exif=None, pattern: int | None = None) -> bytes:
    """A JPEG of one colour, or of a random pattern (a seed) for photos that must look different."""
    buf = io.BytesIO()
    if pattern is None:
        image = Image.new("RGB", size, colour)
    else:
        rng = random.Random(pattern)
        small = Image.new("L", (8, 6))
        small.putdata([rng.randrange(256) for _ in range(48)])
        image = small.resize(size).convert("RGB")
    image.save(buf, "JPEG", **({"exif": exif} if exif is not None else {}))
    return buf.getvalue()


def post(api, world, grid="341122100001001", photos=None, headers=None, **fields):
    lon, lat = world.point(grid)
    data = {"lon": str(lon), "lat": str(lat), "description": "路边垃圾堆了好几天", **fields}
    files = [("photos", (f"p{i}.jpg", p, "image/jpeg")) for i, p in enumerate([jpeg()] if photos is None else photos)]
    return api.post(URL, data=data, files=files, headers=headers or {})


def count(session) -> int:
    return session.query(Case).count()


def test_report_to_closed_case_with_status_and_one_rating(api, login, world, session):
    r = post(api, world, category_code="06010", phone="138 0013 8000", headers={"Idempotency-Key": "k1"})
    assert r.status_code == 201, r.text
    code = r.json()["tracking_code"]
    assert len(code) == 8 and r.json()["category_name"] == "暴露垃圾" and not r.json()["category_guessed"]
    again = post(api, world, category_code="06010", phone="138 0013 8000", headers={"Idempotency-Key": "k1"})
    assert again.status_code == 200 and again.json()["tracking_code"] == code  # a retry never makes a second case
    case = session.get(Case, session.query(ChannelReport).filter_by(tracking_code=code).one().case_id)
    assert (case.source, case.stage, case.needs_verification, case.reporter_phone) == (
        "public", "reported", True, "13800138000")
    listed = api.get("/api/v1/cases", headers=login("d01")).json()
    assert listed["total"] == 0  # departments see nothing until dispatched
    steps = [("operator1", "accept", {}), ("inspector01", "verify_ok", {}), ("lead1", "file", {}),
             ("dispatcher1", "dispatch", {"department_code": "d01"}), ("d01", "handle", {"result": "已清运"}),
             ("inspector01", "check_ok", {}), ("lead1", "close", {})]
    for user, action, body in steps:
        got = api.post(f"/api/v1/cases/{case.id}/actions/{action}", json=body, headers=login(user))
        assert got.status_code == 200, (action, got.text)
    status = api.get(f"{URL}/{code.lower()}").json()  # codes are read case-insensitively
    assert status["stage"] == "closed" and status["closed"] and status["can_rate"]
    texts = [s["text"] for s in status["steps"]]
    assert texts[0] == "已收到上报" and texts[-1] == "已办结" and "已派遣至处置单位" in texts
    assert "13800138000" not in str(status) and "operator1" not in str(status)
    rated = api.post(f"{URL}/{code}/rating", json={"rating": "满意"})
    assert rated.status_code == 200 and rated.json()["rating"] == "满意" and not rated.json()["can_rate"]
    assert api.post(f"{URL}/{code}/rating", json={"rating": "不满意"}).status_code == 409
    page = api.get(f"/m/report/status/{code}")
    assert page.status_code == 200 and "已办结" in page.text and "满意" in page.text


def test_rating_before_closing_is_refused(api, world):
    code = post(api, world).json()["tracking_code"]
    r = api.post(f"{URL}/{code}/rating", json={"rating": "满意"})
    assert r.status_code == 409


def test_free_text_gets_a_guessed_category(api, world, session):
    r = post(api, world, description="小区门口有人占道经营卖水果")
    assert r.status_code == 201 and r.json()["category_guessed"]
    assert r.json()["category_name"] == "占道经营"


@pytest.mark.parametrize("fields, files, status, code", [
    ({"lon": "120.0", "lat": "30.0"}, None, 422, "outside-district"),
    ({"category_code": "99999"}, None, 422, "unknown-category"),
    ({"description": "x" * 10_000}, None, 422, "invalid-input"),
    ({"description": "看这里 http://spam.example"}, None, 422, "spam-suspected"),
    ({"website": "http://bot"}, None, 422, "spam-suspected"),
    ({"phone": "12345"}, None, 422, "bad-phone"),
    ({}, [], 422, "photo-required"),
    ({}, [b"MZ not an image"], 415, "not-an-image"),
])
def test_bad_input_creates_nothing(api, world, session, fields, files, status, code):
    r = post(api, world, photos=files, **fields)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert count(session) == 0 and session.query(ChannelReport).count() == 0


def test_a_20_mb_photo_is_413(api, world, session):
    big = jpeg() + b"\0" * (20 * 1024 * 1024)
    r = post(api, world, photos=[big])
    assert r.status_code == 413 and count(session) == 0


def test_rate_limits_per_ip_and_per_phone(api, world, settings, session):
    settings.public_reports_per_phone_day = 2
    for _ in range(2):
        assert post(api, world, phone="13900000001").status_code == 201
    r = post(api, world, phone="139-0000-0001")
    assert r.status_code == 429 and r.json()["code"] == "rate-limited"
    settings.public_reports_per_ip_hour = 3
    assert post(api, world).status_code == 429  # the fourth from this address within the hour
    assert count(session) == 2


def test_unknown_tracking_code_is_404(api):
    assert api.get(f"{URL}/ABCDEFGH").status_code == 404
    assert api.get(f"{URL}/../../etc").status_code == 404
    assert api.get("/m/report/status/NOPE").status_code == 404
