"""The JT/T 808 gateway over real TCP: register, authenticate, heartbeat, locations, batches and sub-packages,
2013 and 2019 headers; unauthenticated and malformed traffic answered without dropping the link; a client sending
garbage does not disturb a healthy one; positions reach the database through the pipeline."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from cityloop.state import app_state
from cityloop.fleet import jt808 as j
from cityloop.fleet.domain import FLAG_BACKFILL, FLAG_BAD_CHECKSUM
from cityloop.fleet.gateway import Gateway, issue_auth_code
from cityloop.fleet.ingest import Pipeline, load_world
from cityloop.fleet.models import Position, Vehicle
from cityloop.fleet.runner import drive_tcp
from cityloop.fleet.simulate import plans_from_db
from cityloop.fleet.terminal import Terminal
from cityloop.fleet.world import World
from tests.fleet_world import LAT, lon_at, seed_fleet


@pytest.fixture
def fleet(session, world, clock):
    return seed_fleet(session, world, clock.now())


@pytest.fixture
def pipeline(app, session, fleet):
    p = Pipeline(app_state(app))
    p.refresh(session)
    return p


def serve(pipeline: Pipeline, scenario, **kw):
    """Run a gateway on a free port around an async scenario(port, gateway); returns the fixes it handed over."""
    got: list[tuple] = []

    async def main():
        gw = Gateway(pipeline.directory, got.extend, **kw)
        port = await gw.start("127.0.0.1", 0)
        try:
            await scenario(port, gw)
        finally:
            gw.close()
        return gw

    gw = asyncio.run(main())
    return got, gw


def loc(clock, k: int = 0, speed: float = 30.0) -> j.Location:
    when = clock.now() - timedelta(minutes=10) + timedelta(seconds=10 * k)
    return j.Location.make(lon_at(1000 + 80 * k), LAT, speed, 90, when, load=j.LOAD_FULL)


def test_a_terminal_session(pipeline, settings, clock, session, api, login):
    async def scenario(port, gw):
        t = await Terminal("013800000001").connect("127.0.0.1", port)
        assert await t.report(loc(clock)) == j.FAIL  # not authenticated yet: refused, link kept
        result, code = await t.register("皖MA0001")
        assert (result, code) == (j.OK, issue_auth_code(settings.secret_key, "13800000001"))
        assert await t.authenticate("wrong") == j.FAIL
        assert await t.authenticate(code) == j.OK
        assert await t.heartbeat() == j.OK
        reply = await t.request(j.LOCATION, j.encode_location(loc(clock, 1)))
        assert reply.header.msg_id == j.PLATFORM_RESPONSE and reply.header.phone == "013800000001"
        assert j.decode_general_response(reply.body) == (t.serial, j.LOCATION, j.OK)
        assert await t.report_batch([loc(clock, k) for k in range(2, 5)], backfill=True) == j.OK
        assert await t.report(loc(clock, 5)) == j.OK
        # a frame whose checksum is wrong is accepted and flagged; one too short to read is refused
        bad = bytearray(t.frame(j.LOCATION, j.encode_location(loc(clock, 6))))
        bad[-2] ^= 0xFF
        await t.send_raw(bytes(bad))
        assert j.decode_general_response((await t.answer()).body)[2] == j.OK
        assert j.decode_general_response((await t.request(j.LOCATION, b"\x00" * 10)).body)[2] == j.BAD_MESSAGE
        assert j.decode_general_response((await t.request(0x0900, b"\x01abc")).body)[2] == j.UNSUPPORTED
        await t.close()
        stranger = await Terminal("013899999999").connect("127.0.0.1", port)
        assert (await stranger.register())[0] == 4  # terminal not in the registry
        await stranger.close()
        assert gw.stats["bad_checksum"] == 1 and gw.stats["unauthenticated"] == 1 and gw.stats["unknown_terminals"] == 1

    fixes, gw = serve(pipeline, scenario)
    assert len(fixes) == 6
    assert [f[8] for f in fixes] == [0, FLAG_BACKFILL, FLAG_BACKFILL, FLAG_BACKFILL, 0, FLAG_BAD_CHECKSUM]
    vid = fixes[0][0]
    assert fixes[0][1:5] == (loc(clock, 1).time.timestamp(), lon_at(1080), LAT, 30.0)
    stored, rejected, made = pipeline.ingest(session, fixes, clock.now())
    assert (stored, rejected, made) == (6, 0, [])
    assert session.scalar(select(func.count()).select_from(Position).where(Position.vehicle_id == vid)) == 6
    vehicle = next(v for v in api.get("/api/v1/fleet/vehicles", headers=login("admin")).json() if v["id"] == vid)
    assert vehicle["terminal_phone"] == "13800000001" and vehicle["last_lon"] == lon_at(1480)


def test_a_2019_terminal_and_a_sub_packaged_batch(pipeline, clock):
    async def scenario(port, gw):
        t = await Terminal("00000000013800000002", version=1).connect("127.0.0.1", port)
        await t.login("皖MB0002")
        body = j.encode_batch(0, [j.encode_location(loc(clock, k)) for k in range(40)])
        parts = j.split_body(body)
        assert len(parts) == 2
        first = t.serial + 1
        for i, part in enumerate(parts, start=1):
            await t.send_raw(j.encode_frame(j.BATCH, t.phone, first + i - 1, part, version=1, total=len(parts),
                                            index=i))
        answers = [await t.answer() for _ in parts]
        assert [j.decode_general_response(a.body)[2] for a in answers] == [j.OK, j.OK]
        assert all(a.header.version == 1 for a in answers)
        await t.close()

    fixes, _ = serve(pipeline, scenario)
    assert len(fixes) == 40 and fixes[0][4] == 30.0


def test_garbage_from_one_client_never_disturbs_another(pipeline, clock):
    rng = random.Random(5)

    async def garbage(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):
            chunk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            writer.write(chunk + (b"\x7e" if rng.random() < 0.5 else b""))
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(b"\x7e" + b"\x11" * 100_000)  # a frame that never ends
        await writer.drain()
        return reader, writer

    async def healthy(port):
        t = await Terminal("013800000001").connect("127.0.0.1", port)
        await t.login()
        results = [await t.report(loc(clock, k)) for k in range(50)]
        await t.close()
        return results

    async def scenario(port, gw):
        (_, writer), results = await asyncio.gather(garbage(port), healthy(port))
        assert results == [j.OK] * 50
        assert gw.stats["overflows"] >= 1 and gw.stats["errors"] == 0
        writer.close()

    fixes, _ = serve(pipeline, scenario)
    assert len(fixes) == 50


def test_simulated_trucks_drive_through_the_gateway_into_the_database(pipeline, app, session, clock):
    spec = load_world(session, None)
    plans = plans_from_db(session, spec, clock.now())
    assert {p.behaviour for p in plans} >= {"unpermitted"}  # the trucks without a permit

    async def scenario(port, gw):
        accepted = await drive_tcp(plans, World(spec), "127.0.0.1", port, interval=0.3, duration=0.8)
        assert accepted >= len(plans)

    fixes, _ = serve(pipeline, scenario)
    assert {f[0] for f in fixes} == {p.vehicle_id for p in plans}
    now = datetime.fromtimestamp(max(f[1] for f in fixes), clock.now().tzinfo)
    pipeline.submit(fixes)  # the gateway's path: the writer thread stores the batch
    app_state(app).clock.set(now)
    pipeline.stop()
    stored = session.scalar(select(func.count()).select_from(Position))
    assert stored == len({(f[0], int(f[1])) for f in fixes})  # a position re-sent within the second is stored once


def test_the_writer_gathers_a_second_of_positions_per_batch(pipeline, app, session, clock, monkeypatch):
    from cityloop.fleet import ingest

    vid = session.scalar(select(Vehicle.id).where(Vehicle.active.is_(True)).limit(1))
    t0 = (clock.now() - timedelta(minutes=5)).timestamp()
    fixes = [(vid, t0 + k, lon_at(1000 + 10 * k), LAT, 20.0, 90, 0, 3, 0) for k in (1, 0, 3, 2, 5, 4, 7, 6)]
    written: list[int] = []
    write = pipeline._write
    monkeypatch.setattr(pipeline, "_write", lambda batch: (write(batch), written.append(len(batch))))
    monkeypatch.setattr(ingest, "WRITE_EVERY_S", 2.0)
    pipeline.submit(fixes[:2])  # the first batch goes at once, the next ones wait for the interval
    deadline = time.monotonic() + 5
    while not written and time.monotonic() < deadline:
        time.sleep(0.01)
    for k in range(2, 8, 2):
        pipeline.submit(fixes[k:k + 2])  # three gateway flushes within the interval: one write
    pipeline.stop()
    assert written == [2, 6]
    assert session.scalar(select(func.count()).select_from(Position).where(Position.vehicle_id == vid)) == 8
    # the vehicle's newest position is on its row
    vehicle = session.get(Vehicle, vid)
    session.refresh(vehicle)
    assert vehicle.last_at == int(t0 + 7) and vehicle.last_lon == lon_at(1070)


def test_retention_drops_old_positions(pipeline, session, clock):
    import numpy as np

    from cityloop.fleet import positions

    now = clock.now().timestamp()
    times = np.array([now - 120 * 86400, now - 91 * 86400, now - 89 * 86400, now - 60], dtype=np.int64)
    n = len(times)
    rows = {"vehicle_id": np.full(n, 1), "t": times, "lon": np.full(n, 118.43), "lat": np.full(n, 32.45),
            "speed": np.zeros(n), "heading": np.zeros(n, np.int64), "alarm": np.zeros(n, np.int64),
            "status": np.full(n, 3), "flags": np.zeros(n, np.int64)}
    assert positions.store(session, rows) == 4
    pipeline.retention(session, clock.now())  # 90 days by default
    kept = session.scalars(select(Position.t).order_by(Position.t)).all()
    assert kept == [int(now - 89 * 86400), int(now - 60)]


def test_a_truck_registered_through_the_api_is_accepted_at_once(pipeline, fleet, api, login, session, clock):
    company = next(iter(fleet.companies.values())).id
    phone = "013900000077"

    async def scenario(port, gw):
        stranger = await Terminal(phone).connect("127.0.0.1", port)
        assert (await stranger.register())[0] == 4  # not registered yet
        assert (await stranger.register())[0] == 4 and pipeline.stats["lookups"] <= 1  # a miss is remembered
        await stranger.close()
        made = await asyncio.to_thread(api.post, "/api/v1/fleet/vehicles", json={
            "company_id": company, "plate": "皖MZ0077", "terminal_phone": phone}, headers=login("admin"))
        assert made.status_code == 201
        await asyncio.sleep(1.0)  # past the one-second memory of the miss; far less than any reload interval
        t = await Terminal(phone).connect("127.0.0.1", port)
        await t.login("皖MZ0077")  # at once: the gateway's registry was loaded before the truck existed
        assert await t.report(loc(clock)) == j.OK
        await t.close()
        fresh = await Terminal("013900000078").connect("127.0.0.1", port)  # never tried before: no wait at all
        made = await asyncio.to_thread(api.post, "/api/v1/fleet/vehicles", json={
            "company_id": company, "plate": "皖MZ0078", "terminal_phone": "013900000078"}, headers=login("admin"))
        assert made.status_code == 201
        await fresh.login("皖MZ0078")
        await fresh.close()

    fixes, _ = serve(pipeline, scenario)
    vid = session.scalar(select(Vehicle.id).where(Vehicle.terminal_phone == "13900000077"))
    assert [f[0] for f in fixes] == [vid]
    assert pipeline.ingest(session, fixes, clock.now())[0] == 1  # stored: the pipeline's world knows the truck
