"""Answers that carry personal data (names, phone numbers, case details) are never stored by a browser or proxy
cache (`Cache-Control: no-store`); static assets keep their own caching."""

from __future__ import annotations
from tests.factories import form_login


def test_api_answers_and_pages_are_not_stored_and_static_files_are_cached(api, world, login):
    lon, lat = world.point("341122100001001")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾", "source": "hotline",
            "reporter_phone": "13800138000"}
    created = api.post("/api/v1/cases", json=body, headers=login("operator1"))
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    case = api.get(f"/api/v1/cases/{created.json()['id']}", headers=login("operator1"))
    assert case.status_code == 200 and case.headers["cache-control"] == "no-store"
    for url in ("/api/v1/cases", "/api/v1/me", "/api/v1/users"):
        assert api.get(url, headers=login("admin")).headers["cache-control"] == "no-store", url
    assert api.get("/api/v1/cases/999999", headers=login("admin")).headers["cache-control"] == "no-store"
    assert api.get("/login").headers["cache-control"] == "no-store"
    form_login(api, "admin")
    assert api.get("/console").headers["cache-control"] == "no-store"
    assert api.get("/static/web/css/app.css").headers["cache-control"] == "public, max-age=86400"
