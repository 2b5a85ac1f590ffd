"""Photos on report and handle: multipart, type and size checks, thumbnails, content addressing."""

from __future__ import annotations

import io
import json

from PIL import Image


def _jpeg(colour=(200, 30, 30), size=(640, 480)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def _report(api, login, world, files, **extra):
    lon, lat = world.point("341122100001001")
    data = json.dumps({"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾", **extra})
    return api.post("/api/v1/cases", data={"data": data}, files=files, headers=login("inspector01"))


def test_report_with_photos_and_thumbnails(api, login, world, settings):
    r = _report(api, login, world, [("photos", ("a.jpg", _jpeg(), "image/jpeg")),
                                    ("photos", ("b.jpg", _jpeg((0, 0, 255)), "image/jpeg"))])
    assert r.status_code == 201, r.text
    case = r.json()
    listed = api.get(f"/api/v1/cases/{case['id']}/photos", headers=login("lead1")).json()
    assert len(listed) == 2 and listed[0]["width"] == 640 and listed[0]["event_seq"] == 1
    thumb = api.get(listed[0]["thumb_url"], headers=login("lead1"))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) == settings.thumb_size
    full = api.get(listed[0]["url"], headers=login("lead1"))
    assert full.content == _jpeg()
    assert api.get(listed[0]["url"], headers=login("d02")).status_code == 404  # not their case


def test_non_image_is_415_and_nothing_is_created(api, login, world):
    r = _report(api, login, world, [("photos", ("x.jpg", b"MZ\x90\x00 not an image", "image/jpeg"))])
    assert r.status_code == 415 and r.json()["code"] == "not-an-image"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    r = _report(api, login, world, [("photos", ("x.gif", gif.getvalue(), "image/gif"))])
    assert r.status_code == 415
    assert api.get("/api/v1/cases", headers=login("lead1")).json()["total"] == 0


def test_oversized_photo_is_413(api, login, world, settings):
    settings.max_upload_bytes = 1000
    r = _report(api, login, world, [("photos", ("big.jpg", _jpeg(size=(800, 800)), "image/jpeg"))])
    assert r.status_code == 413


def test_too_many_photos(api, login, world, settings):
    files = [("photos", (f"{i}.jpg", _jpeg((i, i, i), (20, 20)), "image/jpeg")) for i in range(settings.max_photos + 1)]
    assert _report(api, login, world, files).status_code == 422


def test_handle_with_photos(api, login, world):
    case = _report(api, login, world, []).json()
    for action, user in [("accept", "operator1"), ("file", "lead1"), ("dispatch", "dispatcher1")]:
        assert api.post(f"/api/v1/cases/{case['id']}/actions/{action}", headers=login(user)).status_code == 200
    r = api.post(f"/api/v1/cases/{case['id']}/actions/handle", data={"data": json.dumps({"result": "已清理"})},
                 files=[("photos", ("after.png", _png(), "image/png"))], headers=login("d01"))
    assert r.status_code == 200, r.text
    photos = api.get(f"/api/v1/cases/{case['id']}/photos", headers=login("lead1")).json()
    assert [(p["event_seq"], p["content_type"]) for p in photos] == [(5, "image/png")]


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (50, 40), (0, 200, 0)).save(buf, "PNG")
    return buf.getvalue()
