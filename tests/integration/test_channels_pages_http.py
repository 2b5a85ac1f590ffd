"""Channel pages answer for the right people: the public ones for anyone, staff ones after login and by role."""

from __future__ import annotations

import json

from cityloop.org.security import issue_token
from cityloop.web.pages import CSRF_COOKIE, TOKEN_COOKIE


def _cookies(api, settings, world, clock, username):
    token = issue_token(settings.secret_key, world.users[username].id, username, clock.now(), 600)
    api.cookies.set(TOKEN_COOKIE, token)
    api.cookies.set(CSRF_COOKIE, "x")


def test_public_pages_and_static_files(api):
    assert "拍一拍" in api.get("/m/report").text
    sw = api.get("/m/inspector/sw.js")
    assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/m/"
    assert sw.headers["content-type"].startswith("text/javascript")
    config = json.loads(sw.text.split("\n", 1)[0].removeprefix("const APP = ").removesuffix(";"))
    assert config["cache"].startswith("cityloop-inspector-v") and config["prefix"] == "cityloop-inspector"
    assert {"/m/inspector", "/static/channels/inspector.js", "/static/web/js/map.js"} <= set(config["shell"])
    assert all(api.get(path).status_code == 200 for path in config["shell"])  # the worker's install would fail else
    manifest = api.get("/m/inspector/manifest.webmanifest").json()
    assert manifest["start_url"] == "/m/inspector" and manifest["display"] == "standalone"
    assert api.get("/static/channels/inspector.js").headers["content-type"].startswith("text/javascript")
    assert api.get("/static/channels/../models.py").status_code == 404


def test_staff_pages_need_login_and_role(api, settings, world, clock):
    assert api.get("/m/inspector", follow_redirects=False).status_code == 303
    _cookies(api, settings, world, clock, "inspector01")
    assert "城管通" in api.get("/m/inspector").text
    assert api.get("/console/hotline").status_code == 403
    _cookies(api, settings, world, clock, "operator1")
    page = api.get("/console/hotline")
    assert page.status_code == 200 and "热线受理" in page.text
    assert "上报审核" in api.get("/console/intake").text
