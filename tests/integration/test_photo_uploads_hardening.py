"""Uploaded photos cannot exhaust memory or disk: the format is read from the first bytes (JPEG/PNG/WebP only, so
no other Pillow plugin — EPS and its Ghostscript — ever runs), the pixel count from the header before any decoding,
decoding waits for a small pool, and nothing reaches media_dir unless the request was accepted."""

from __future__ import annotations

import io
import json
import resource
import struct
import threading
import time
import zlib

import pytest
from PIL import EpsImagePlugin, Image, ImageFile

from cityloop.cases import photos as photo_store
from cityloop.cases.models import Case
from cityloop.channels import http
from tests.integration.test_channels_public import jpeg, post
from tests.integration.test_open311 import create as open311_create

EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
       b"newpath 0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n")


def huge_png(side: int = 7000) -> bytes:
    """A valid side×side black RGB PNG, built row by row so making it costs no memory: ~150 KB on the wire,
    ~150 MB once decoded."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    packer, row, parts = zlib.compressobj(9), b"\0" * (1 + 3 * side), []
    for _ in range(side):
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = huge_png()
    assert len(data) < 300_000 and Image.open(io.BytesIO(data)).size == (7000, 7000)
    return data


@pytest.fixture
def decoded(monkeypatch) -> list[tuple[int, int]]:
    """The sizes of the images Pillow decodes pixels of (every plugin decodes through ImageFile.load)."""
    sizes: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def spy(self):
        sizes.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


@pytest.fixture
def ghostscript(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def spy(*args, **kwargs):
        calls.append(args)
        raise OSError("Ghostscript must never run")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", spy)
    return calls


def files(settings) -> list[str]:
    root = settings.media_dir
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_public_report_of_a_pixel_bomb_is_413_before_decoding(api, world, settings, session, bomb, decoded):
    before = peak_rss_mb()
    r = post(api, world, photos=[bomb])
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "photo-too-many-pixels" and "像素" in r.json()["detail"]
    english = post(api, world, photos=[bomb], headers={"Accept-Language": "en"})
    assert english.status_code == 413 and "pixels" in english.json()["detail"]
    assert (7000, 7000) not in decoded  # refused from the header: the pixels were never decoded
    assert peak_rss_mb() - before < 100  # decoding it would have taken ~150 MB
    assert session.query(Case).count() == 0 and files(settings) == []


def test_open311_pixel_bomb_is_refused_before_decoding(api, world, settings, session, bomb, decoded):
    r = open311_create(api, world, files=[("media", ("a.png", bomb, "image/png"))])
    assert r.status_code == 400, r.text
    [err] = r.json()
    assert err["code"] == 413 and "pixels" in err["description"]
    assert (7000, 7000) not in decoded and session.query(Case).count() == 0 and files(settings) == []


def test_case_report_pixel_bomb_is_413_before_decoding(api, login, world, settings, bomb, decoded):
    lon, lat = world.point("341122100001001")
    data = json.dumps({"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"})
    r = api.post("/api/v1/cases", data={"data": data}, files=[("photos", ("a.png", bomb, "image/png"))],
                 headers=login("inspector01"))
    assert r.status_code == 413 and r.json()["code"] == "photo-too-many-pixels"
    assert (7000, 7000) not in decoded and files(settings) == []


def test_eps_named_jpg_is_415_without_ghostscript(api, login, world, settings, ghostscript):
    r = post(api, world, photos=[EPS])
    assert r.status_code == 415 and r.json()["code"] == "not-an-image", r.text
    lon, lat = world.point("341122100001001")
    data = json.dumps({"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"})
    r = api.post("/api/v1/cases", data={"data": data}, files=[("photos", ("x.jpg", EPS, "image/jpeg"))],
                 headers=login("inspector01"))
    assert r.status_code == 415 and "JPEG/PNG/WebP" in r.json()["detail"]
    r = open311_create(api, world, files=[("media", ("x.jpg", EPS, "image/jpeg"))])
    assert r.status_code == 400 and r.json()[0]["code"] == 415
    assert ghostscript == [] and files(settings) == []


def test_jpeg_magic_with_other_content_is_415(api, world, settings, ghostscript):
    fake = b"\xff\xd8\xff" + EPS  # a JPEG signature on something else: Pillow is told to read JPEG only
    assert post(api, world, photos=[fake]).status_code == 415
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    assert post(api, world, photos=[gif.getvalue()]).status_code == 415
    assert ghostscript == [] and files(settings) == []


def test_spam_report_with_a_photo_leaves_no_file(api, world, settings, session):
    r = post(api, world, photos=[jpeg(pattern=1)], description="看这里 http://spam.example")
    assert r.status_code == 422 and r.json()["code"] == "spam-suspected"
    r = post(api, world, photos=[jpeg(pattern=2)], website="http://bot")
    assert r.status_code == 422
    assert files(settings) == [] and session.query(Case).count() == 0


def test_rate_limited_report_leaves_no_file(api, world, settings):
    settings.public_reports_per_ip_hour = 2
    assert post(api, world, photos=[jpeg(pattern=1)]).status_code == 201
    stored = files(settings)
    assert len(stored) == 2  # the photo and its thumbnail
    r = post(api, world, photos=[jpeg(pattern=2), jpeg(pattern=3)], phone="13800138000")
    assert r.status_code == 201
    settings.public_reports_per_phone_day = 1
    r = post(api, world, photos=[jpeg(pattern=4)], phone="13800138000")  # over the phone's limit
    assert r.status_code == 429
    assert len(files(settings)) == 6


def test_an_address_over_its_limit_is_refused_before_its_upload_is_read(api, world, settings, monkeypatch):
    settings.public_reports_per_ip_hour = 1
    assert post(api, world).status_code == 201
    read = []
    real = http.read_body

    async def spy(*args, **kwargs):
        read.append(args)
        return await real(*args, **kwargs)

    monkeypatch.setattr(http, "read_body", spy)
    r = post(api, world, photos=[jpeg(pattern=9)])
    assert r.status_code == 429 and r.json()["code"] == "rate-limited"
    assert read == [] and len(files(settings)) == 2


def test_refused_open311_request_with_media_leaves_no_file(api, world, settings):
    media = [("media", ("a.jpg", jpeg(pattern=4), "image/jpeg"))]
    assert open311_create(api, world, files=media, service_code="99999").status_code == 404
    assert open311_create(api, world, files=media, lat="30.0", long="120.0").status_code == 400
    assert open311_create(api, world, files=media, api_key="wrong").status_code == 403
    assert files(settings) == []
    assert open311_create(api, world, files=media).status_code == 200
    assert len(files(settings)) == 2


def test_refused_case_actions_with_photos_leave_no_file(api, login, world, settings):
    lon, lat = world.point("341122100001001")
    outside = json.dumps({"category_code": "06010", "lon": 120.0, "lat": 30.0, "description": "垃圾"})
    photo = [("photos", ("a.jpg", jpeg(pattern=5), "image/jpeg"))]
    r = api.post("/api/v1/cases", data={"data": outside}, files=photo, headers=login("inspector01"))
    assert r.status_code == 422
    case = api.post("/api/v1/cases", json={"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾"},
                    headers=login("inspector01")).json()
    wrong_stage = api.post(f"/api/v1/cases/{case['id']}/actions/file", files=photo, headers=login("lead1"))
    assert wrong_stage.status_code == 409, wrong_stage.text
    wrong_role = api.post(f"/api/v1/cases/{case['id']}/actions/accept", files=photo, headers=login("lead1"))
    assert wrong_role.status_code == 403, wrong_role.text
    assert files(settings) == []
    ok = api.post(f"/api/v1/cases/{case['id']}/actions/accept", files=photo, headers=login("operator1"))
    assert ok.status_code == 200, ok.text
    assert len(files(settings)) == 2


def test_decoding_waits_for_the_bounded_pool(settings, monkeypatch):
    settings.photo_decode_workers = 2
    inside, peak, lock = [0], [0], threading.Lock()
    real = photo_store._thumbnail

    def slow(*args):
        with lock:
            inside[0] += 1
            peak[0] = max(peak[0], inside[0])
        time.sleep(0.05)
        try:
            return real(*args)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(photo_store, "_thumbnail", slow)
    uploads = [photo_store.screen(settings, jpeg(pattern=i), f"{i}.jpg") for i in range(8)]
    threads = [threading.Thread(target=photo_store.decode, args=(settings, [u])) for u in uploads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2 and all(u.thumb for u in uploads)
    assert files(settings) == []  # decoding writes nothing; save() does, after the use case was accepted
