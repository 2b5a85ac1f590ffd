"""The channels' demo data on the small test world: gazetteer, cameras, tracks, tracking codes for public reports."""

from __future__ import annotations

from sqlalchemy import func, select

from cityloop.cases import intake
from cityloop.cases.schemas import ReportIn
from cityloop.cases.service import Ctx
from cityloop.channels import demo
from cityloop.channels.models import Camera, ChannelReport, GazetteerEntry, PositionPing
from cityloop.places.models import PlaceAddress, PlaceRoad
from cityloop.org.actor import SYSTEM_ACTOR
from cityloop.geo.coords import to_wgs84
from cityloop.geo.queries import build_index
from cityloop.sla.service import calendar


def test_demo_build(session, settings, clock, world, api):
    lon, lat = world.point("341122100001001")
    ctx = Ctx(session, settings, calendar(session, settings), clock.now(), SYSTEM_ACTOR)
    intake.report(ctx, ReportIn(category_code="06010", lon=lon, lat=lat, description="历史公众上报", source="public"),
                  build_index(session).locate, to_wgs84, None)
    demo.build(session, settings, clock.now())
    count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert count(Camera) == demo.CAMERAS and count(ChannelReport) == 1
    assert count(GazetteerEntry) == len(demo.POIS)  # the test regions have no boundaries
    assert count(PlaceRoad) == len(demo.ROADS) and count(PlaceAddress) > 0  # roads are lines now, with door plates
    assert count(PositionPing) > 0
    code = session.scalar(select(ChannelReport.tracking_code))
    assert api.get(f"/api/v1/channels/public/reports/{code}").json()["stage"] == "reported"
    hit = api.get("/api/v1/geo/geocode?q=县医院").json()[0]
    assert hit["name"] == "县人民医院" and hit["grid_code"] in world.grids
