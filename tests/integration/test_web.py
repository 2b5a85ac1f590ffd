"""Pages: login with a session cookie, CSRF on cookie-authenticated writes, the menu by role, static files."""

from __future__ import annotations

import pytest

from tests.factories import form_login


def _login(api, username="dispatcher1", password="demo"):
    return form_login(api, username, password)


def test_login_sets_a_session_and_the_console_follows_the_role(api, world):
    assert api.get("/console", follow_redirects=False).headers["location"] == "/login?next=/console"
    r = _login(api)
    assert r.status_code == 303 and r.headers["location"] == "/console"
    assert "httponly" in r.headers["set-cookie"].lower()
    page = api.get("/console")
    assert page.status_code == 200 and "派遣员" in page.text and "一屏观全域" in page.text
    assert "城管通" not in page.text  # the inspector app is not on a dispatcher's menu
    assert api.get("/api/v1/me").json()["username"] == "dispatcher1"  # the API accepts the session too
    english = api.get("/console?lang=en")
    assert "Dispatcher" in english.text and api.cookies.get("cl_lang") == "en"


def test_wrong_password_shows_the_form_again(api, world):
    r = _login(api, password="nope")
    assert r.status_code == 401 and "用户名或密码错误" in r.text and "cl_token" not in r.headers.get("set-cookie", "")


def test_cookie_writes_need_the_csrf_header(api, world, login):
    _login(api, "operator1")
    lon, lat = world.point("341122100001001")
    body = {"category_code": "06010", "lon": lon, "lat": lat, "description": "垃圾", "source": "hotline"}
    r = api.post("/api/v1/cases", json=body)
    assert r.status_code == 403 and r.json()["code"] == "csrf"
    r = api.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": api.cookies.get("cl_csrf")})
    assert r.status_code == 201
    api.cookies.clear()
    assert api.post("/api/v1/cases", json=body, headers=login("operator1")).status_code == 201  # bearer: no CSRF


def test_login_never_redirects_off_site(api, world):
    api.get("/login")
    r = api.post("/login", data={"username": "lead1", "password": "demo", "next": "//evil.example/x",
                                 "csrf": api.cookies.get("cl_csrf")}, follow_redirects=False)
    assert r.headers["location"] == "/console"


@pytest.mark.parametrize("path, status", [
    ("/static/web/css/app.css", 200), ("/static/web/js/app.js", 200), ("/static/../config.py", 404),
    ("/static/vendor/htmx.min.js", 200), ("/static/vendor/leaflet.css", 200),
    ("/static/vendor/images/marker-icon.png", 200), ("/static/vendor/../package.json", 404),
    ("/static/vendor/leaflet/package.json", 404), ("/static/cases/case.js", 200), ("/static/sensors/console.js", 200),
    ("/static/web/%2E%2E%2Fconfig.py", 404), ("/static/web/..%2Frouter.py", 404), ("/static/nothing/app.css", 404),
    ("/static/css/app.css", 404), ("/static/web/", 404), ("/static/web/css", 404),
])
def test_static_files(api, path, status):
    assert api.get(path).status_code == status


def test_every_area_serves_its_static_folder_one_way(api):
    """/static/<area>/<path> for every area's static/ folder, with one caching rule (the phone apps revalidate)."""
    from cityloop.areas import folders

    for area, folder in folders("static").items():
        for path in folder.rglob("*"):
            if path.is_file():
                got = api.get(f"/static/{area}/{path.relative_to(folder).as_posix()}")
                assert got.status_code == 200, path
                expected = "no-cache" if area in ("channels", "department_app") else "public, max-age=86400"
                assert got.headers["cache-control"] == expected, path
    assert api.get("/static/cases/case.js").headers["content-type"].startswith("text/javascript")
    assert api.get("/static/web/css/app.css").headers["content-type"].startswith("text/css")
    missing = api.get("/static/cases/nothing.js")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_home_page(api):
    r = api.get("/")
    assert r.status_code == 200 and "工作人员登录" in r.text and "demo" in r.text


def test_security_headers_and_request_size(api, world, login, settings, engine, session_factory, clock):
    from fastapi.testclient import TestClient

    from cityloop.app import create_app

    r = api.get("/")
    assert r.headers["x-content-type-options"] == "nosniff" and "frame-ancestors 'self'" in r.headers[
        "content-security-policy"]
    assert api.get("/healthz").headers["x-frame-options"] == "SAMEORIGIN"
    small = TestClient(create_app(settings.model_copy(update={"max_request_bytes": 1000}), engine=engine,
                                  session_factory=session_factory, clock=clock))
    r = small.post("/api/v1/cases", content=b"x" * 1001,
                   headers={**login("inspector01"), "content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["x-content-type-options"] == "nosniff"

    def chunks():  # no Content-Length: counted as it arrives
        yield b"x" * 600
        yield b"x" * 600

    r = small.post("/api/v1/cases", content=chunks(), headers={**login("inspector01"), "content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "request-too-large"


def test_tile_host_is_allowed_by_the_policy():
    from cityloop.http.middleware import csp

    assert "https://*.tianditu.gov.cn" in csp("https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY")
    assert "img-src 'self' data: blob:;" in csp(None)


HTML = {"accept": "text/html,application/xhtml+xml"}


def test_a_browser_gets_a_page_for_a_missing_address_and_an_api_caller_gets_problem_json(api, world):
    page = api.get("/console/no-such-page", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "页面不存在" in page.text and 'href="/static/web/css/app.css"' in page.text
    english = api.get("/no-such-page?lang=en", headers=HTML)
    assert english.status_code == 404 and "Page not found" in english.text
    machine = api.get("/api/v1/no-such-thing", headers=HTML)
    assert machine.status_code == 404 and machine.headers["content-type"] == "application/problem+json"
    assert api.get("/console/no-such-page").headers["content-type"] == "application/problem+json"
    assert api.post("/console/no-such-page", headers=HTML).headers["content-type"] == "application/problem+json"


def test_favicon(api):
    icon = api.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml" and b"<svg" in icon.content
    assert '<link rel="icon" href="/static/web/favicon.svg"' in api.get("/login").text
