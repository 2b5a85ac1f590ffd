"""An operator accepts a citizen's Open311 report and publishes its photo from the case page in Chromium; the public
feed shows the request only after 受理 and its photo only after that choice."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from cityloop.state import app_state
from cityloop.cases.models import Case
from tests.browser.test_console_loop import _act, _as, _jpeg
from tests.live import browser, live  # noqa: F401


def test_accept_then_publish_the_photo_from_the_case_page(live, browser):  # noqa: F811
    lon, lat = live.world.point("341122100001002")
    photo = _jpeg()
    r = httpx.post(f"{live.url}/open311/v2/requests.json", data={
        "api_key": "demo", "service_code": "06010", "lat": lat, "long": lon, "description": "桥下垃圾"},
        files=[("media", ("a.jpg", photo["buffer"], "image/jpeg"))])
    assert r.status_code == 200, r.text
    public_id = r.json()[0]["service_request_id"]
    one = f"{live.url}/open311/v2/requests/{public_id}.json"
    assert httpx.get(one).status_code == 404
    with app_state(live.app).session_factory() as session:
        case_id = session.scalar(select(Case.id).where(Case.public_id == public_id))
    page = _as(browser, live, "operator1", case_id)
    _act(page, "accept")
    [doc] = httpx.get(one).json()
    assert "media_url" not in doc
    page.check("form.publish-photos input[name=photo]")
    page.click("form.publish-photos button[type=submit]")
    page.wait_for_selector(".photos span:has-text('已公开')")  # the panel, re-read after saving
    [doc] = httpx.get(one).json()
    assert doc["media_url"].startswith(f"{live.url}/open311/v2/media/{public_id}/")
    assert httpx.get(doc["media_url"]).headers["content-type"] == "image/jpeg"
    page.close()
