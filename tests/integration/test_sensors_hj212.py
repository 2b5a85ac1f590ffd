"""HJ 212 over real TCP (the listener on a free port, stations as plain sockets): a dust station's exceedance opens
a case and clears; minute and hour data are stored as reported; broken frames are counted per station and answered;
a garbage-sending client does not disturb a healthy station; stations are registered with MN and password."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from datetime import timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cityloop.state import app_state
from cityloop.sensors import hj212, hj212_sim, store
from cityloop.sensors.hj212_listener import Listener
from cityloop.sensors.models import Device, Rollup, StationEvent
from cityloop.sensors.models import Reading as Row
from cityloop.sensors.service import get_ingestor
from tests.conftest import free_port
from tests.integration.sensors_kit import fake_notifier, sensor_settings, sensor_world  # noqa: F401

TZ = ZoneInfo("Asia/Shanghai")
DUST = ("DU-1", "LADU341122000001", "pw0001")
NOISE = ("NO-1", "LANO341122000001", "pw0002")


class Station:
    """A station on a plain blocking socket: sends frames, reads the platform's answers."""

    def __init__(self, port: int, mn: str = DUST[1], password: str = DUST[2], kind: str = "dust"):
        self.mn, self.password, self.kind = mn, password, kind
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.splitter = hj212.FrameReader()

    def send(self, *frames: bytes, answers: int | None = None, chunk: int = 0) -> list[hj212.Packet]:
        data = b"".join(frames)
        if chunk:
            for at in range(0, len(data), chunk):
                self.sock.sendall(data[at:at + chunk])
                time.sleep(0.002)
        else:
            self.sock.sendall(data)
        wanted = len(frames) if answers is None else answers
        got: list[hj212.Packet] = []
        while len(got) < wanted:
            data = self.sock.recv(65536)
            assert data, "the listener hung up"
            got += [hj212.decode(item) for item in self.splitter.feed(data)]
        return got

    def realtime(self, clock, vals: dict, **kw) -> bytes:
        return hj212_sim.realtime(self.mn, self.password, self.kind, local(clock), vals, **kw)

    def close(self) -> None:
        self.sock.close()


def local(clock):
    return clock.now().astimezone(TZ).replace(tzinfo=None)


class Loop:
    """An event loop in a thread, for the listener."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def registered(api, sensors, login):
    """DU-1 and NO-1 registered as HJ 212 stations."""
    for code, mn, password in (DUST, NOISE):
        res = api.patch(f"/api/v1/sensors/devices/{code}", json={"hj212_mn": mn, "hj212_password": password},
                        headers=login("admin"))
        assert res.status_code == 200 and res.json()["hj212_mn"] == mn and "hj212_password" not in res.json()


@pytest.fixture
def gateway(app, registered):
    """A listener on a free port (5 ms batches) for the registered stations."""
    loop = Loop()
    settings = app_state(app).settings.model_copy(update={"sensor_flush_ms": 5, "sensor_hj212_idle_seconds": 5})

    async def start():
        listener = Listener(get_ingestor(app_state(app)), app_state(app).read_session_factory, settings)
        return listener, await listener.start("127.0.0.1", 0)

    listener, port = loop.run(start())
    app_state(app).sensor_hj212 = listener
    yield SimpleNamespace(listener=listener, port=port, loop=loop)
    loop.run(listener.close())
    loop.stop()


def counters(api, login) -> dict:
    return api.get("/api/v1/sensors/stats", headers=login("lead1")).json()["counters"]


def test_a_dust_exceedance_over_hj212_opens_a_case_for_the_site_unit_and_clears(app, api, gateway, clock, login,
                                                                                 session):
    station = Station(gateway.port)
    minutes = hj212_sim.Minutes(DUST[1], DUST[2], "dust")
    start, sent_minutes = clock.now(), 0
    for i in range(50):  # a real-time frame every 30 s (and each completed minute's data): 25 minutes
        clock.advance(seconds=30)
        pm10 = 300.0 if i < 16 else 40.0
        vals = {"pm10": pm10, "pm25": pm10 * 0.4, "temp_c": 11.5, "wind_ms": 1.2}
        frames = [station.realtime(clock, vals)]
        done = minutes.add(local(clock), vals)
        frames += [done] if done else []
        sent_minutes += bool(done)
        answers = station.send(*frames)
        assert [(a.cn, a.st, a.qn) for a in answers] == [("9014", "91", hj212.decode(f).qn) for f in frames]
    station.close()
    headers = login("lead1")
    alarms = api.get("/api/v1/sensors/alarms", params={"device": "DU-1"}, headers=headers).json()
    assert [(a["rule"], a["state"]) for a in alarms] == [("dust_pm10", "cleared")]
    alarm = alarms[0]
    history = api.get(f"/api/v1/sensors/alarms/{alarm['id']}/events", headers=headers).json()
    raised = next(e for e in history if e["kind"] == "raise")["payload"]["reading_at"]
    assert raised == (start + timedelta(seconds=330)).astimezone(timezone.utc).isoformat()  # held 5 minutes
    case = api.get(f"/api/v1/cases/{alarm['case_id']}", headers=headers).json()
    assert (case["category_code"], case["department_code"], case["stage"], case["source"], case["urgent"]) == (
        "08004", "d02", "dispatched", "sensor", True)
    events = api.get(f"/api/v1/cases/{alarm['case_id']}/events", headers=headers).json()
    assert events[-1]["action"] == "annotate" and events[-1]["payload"]["alarm"] == "cleared"
    device = session.scalar(select(Device).where(Device.code == "DU-1"))
    rows = session.execute(select(Row.ts, Row.pm10, Row.temp_c, Row.wind_ms).where(Row.device_id == device.id)
                           .order_by(Row.ts)).all()
    assert len(rows) == 50 and rows[0][1:] == (300.0, 11.5, 1.2)
    reported = session.scalars(select(Rollup).where(Rollup.device_id == device.id, Rollup.metric == "pm10")).all()
    assert len(reported) == sent_minutes == 25 and all(r.step_s == 60 and r.reported == "N" for r in reported)


def test_raise_waits_for_the_rule_duration(app, api, gateway, clock, login):
    station = Station(gateway.port)
    for _ in range(10):  # 300 µg/m³ for 4.5 minutes: the 15-minute mean is over, but not yet held 5 minutes
        clock.advance(seconds=30)
        station.send(station.realtime(clock, {"pm10": 300.0}))
    assert api.get("/api/v1/sensors/alarms", params={"device": "DU-1"}, headers=login("lead1")).json() == []
    clock.advance(seconds=30)
    station.send(station.realtime(clock, {"pm10": 300.0}))
    assert len(api.get("/api/v1/sensors/alarms", params={"device": "DU-1"}, headers=login("lead1")).json()) == 1


def interval_frame(cn: str, start, avg: float, lo: float, hi: float, flag: str = "N") -> bytes:
    factor = hj212.Factor("a34002", {"Avg": avg, "Min": lo, "Max": hi}, flag)
    return hj212.encode(hj212.Packet("22", cn, DUST[1], hj212_sim.qn(start), DUST[2], 5, data_time=start,
                                     factors={"a34002": factor}))


def test_minute_and_hour_data_are_stored_as_reported_and_judge_only_stations_without_real_time_data(
        app, api, gateway, clock, login, session):
    station = Station(gateway.port)
    start = local(clock).replace(second=0)
    for _ in range(2):  # real time at 09:00:30 and 09:01 …
        clock.advance(seconds=30)
        station.send(station.realtime(clock, {"pm10": 50.0}))
    station.send(interval_frame("2051", start, 500.0, 480.0, 520.0))  # … then 09:00's minute: older, not judged
    station.send(interval_frame("2061", start - timedelta(hours=1), 610.0, 20.0, 900.0))  # hour data: never judged
    device = session.scalar(select(Device).where(Device.code == "DU-1"))
    now_ms = int(clock.now().timestamp() * 1000)
    got = {(r.step_s, r.bucket): (r.avg, r.min, r.max, r.reported, r.n) for r in session.scalars(
        select(Rollup).where(Rollup.device_id == device.id, Rollup.metric == "pm10"))}
    start_ms = int(start.replace(tzinfo=TZ).timestamp() * 1000)
    assert got == {(60, start_ms): (500.0, 480.0, 520.0, "N", 1),
                   (3600, start_ms - 3_600_000): (610.0, 20.0, 900.0, "N", 1)}
    store.rollup(session, now_ms + 10 * 60_000, first_ms=start_ms - 7_200_000)  # the job, over the raw readings
    session.commit()
    rows = {(r.step_s, r.bucket): (r.avg, r.reported) for r in session.scalars(
        select(Rollup).where(Rollup.device_id == device.id, Rollup.metric == "pm10"))}
    assert rows[(60, start_ms)] == (500.0, "N")  # what the station reported, not re-aggregated from 09:00:30's 50
    assert rows[(60, start_ms + 60_000)] == (50.0, None)  # a minute it did not report: computed
    chart = api.get("/api/v1/sensors/devices/DU-1/readings", params={
        "metric": "pm10", "step": "1m", "start": start_ms, "end": now_ms + 60_000}, headers=login("lead1")).json()
    assert chart["points"][0] == [start_ms, 500.0, 480.0, 520.0]
    assert api.get("/api/v1/sensors/alarms", params={"device": "DU-1"}, headers=login("lead1")).json() == []
    noise = Station(gateway.port, NOISE[1], NOISE[2], "noise")  # minute data only: each minute is judged
    clock.set(clock.now().replace(hour=23))  # night: noise_night applies (55 dB(A), 3 of 5)
    for _ in range(3):
        minute = local(clock).replace(second=0)
        factor = hj212.Factor("LA", {"Avg": 68.0, "Min": 60.0, "Max": 75.0}, "N")
        noise.send(hj212.encode(hj212.Packet("23", "2051", NOISE[1], hj212_sim.qn(minute), NOISE[2], 5,
                                             data_time=minute, factors={"LA": factor})))
        clock.advance(minutes=1)
    alarms = api.get("/api/v1/sensors/alarms", params={"device": "NO-1"}, headers=login("lead1")).json()
    assert [(a["rule"], a["level"], a["value"]) for a in alarms] == [("noise_night", "red", 68.0)]


def test_flagged_values_are_kept_but_never_alarm(app, api, gateway, clock, login, session):
    station = Station(gateway.port)
    for _ in range(14):  # a calibration run at 900 µg/m³ for 7 minutes
        clock.advance(seconds=30)
        station.send(station.realtime(clock, {"pm10": 900.0, "pm25": 30.0}, flags={"pm10": "C"}))
    assert api.get("/api/v1/sensors/alarms", params={"device": "DU-1"}, headers=login("lead1")).json() == []
    row = session.execute(select(Row.pm10, Row.pm25, Row.flags).order_by(Row.ts.desc()).limit(1)).one()
    assert tuple(row) == (None, 30.0, {"pm10": ["C", 900.0]})


def test_frames_in_one_read_and_across_reads(app, api, gateway, clock, session):
    station = Station(gateway.port)
    frames = []
    for _ in range(5):
        clock.advance(seconds=10)
        frames.append(station.realtime(clock, {"pm10": 60.0}))
    assert len(station.send(*frames[:3])) == 3  # three frames in one write
    assert len(station.send(*frames[3:], chunk=7)) == 2  # two frames dribbled out 7 bytes at a time
    device_id = session.scalar(select(Device.id).where(Device.code == "DU-1"))
    assert len(session.scalars(select(Row.ts).where(Row.device_id == device_id)).all()) == 5
    clock.advance(seconds=10)
    quiet = station.realtime(clock, {"pm10": 61.0}, answer=False)  # Flag=4: stored, not answered
    clock.advance(seconds=10)
    assert [a.cn for a in station.send(quiet, station.realtime(clock, {"pm10": 62.0}), answers=1)] == ["9014"]


def test_one_read_mixing_stored_frames_and_looked_up_ones_is_answered_in_order(app, gateway, clock, session):
    # The unknown MN is looked up (the connection waits on a thread) between stored frames of the same read: a batch
    # may be written meanwhile, and every frame still gets its answer, in the order sent.
    station = Station(gateway.port)
    frames = []
    for i in range(3):
        clock.advance(seconds=10)
        frames.append(station.realtime(clock, {"pm10": 60.0 + i}))
    stranger = hj212.frame(hj212.unframe(frames[0]).replace(DUST[1], "NOT-REGISTERED-2"))
    answers = station.send(frames[0], stranger, frames[1], stranger, frames[2])
    assert [(a.cn, a.fields.get("QnRtn")) for a in answers] == [
        ("9014", None), ("9011", "4"), ("9014", None), ("9011", "4"), ("9014", None)]
    assert [a.qn for a in answers[::2]] == [hj212.decode(f).qn for f in frames]
    device_id = session.scalar(select(Device.id).where(Device.code == "DU-1"))
    assert len(session.scalars(select(Row.ts).where(Row.device_id == device_id)).all()) == 3


def test_broken_frames_are_counted_per_station_answered_and_the_connection_goes_on(app, api, gateway, clock,
                                                                                   login, session):
    station = Station(gateway.port)
    good = station.realtime(clock, {"pm10": 60.0})
    bad_crc = good[:-6] + b"0000\r\n"
    segment = hj212.unframe(good)
    cases = [
        (bad_crc, "hj212-bad-crc", 9),
        (hj212.frame(segment.replace("Rtd=60", "Rtd=6O")), "hj212-bad-value", 100),
        (hj212.frame(segment.replace("CN=2011", "CN=2099")), "hj212-unknown-cn", 8),
        (hj212.frame(segment.replace(f"PW={DUST[2]}", "PW=guess")), "hj212-password", 3),
        (hj212.frame(segment.replace(DUST[1], "NOT-REGISTERED")), "unknown-device", 4),
    ]
    for frame, reason, rtn in cases:
        (answer,) = station.send(frame)
        assert (answer.cn, answer.fields["QnRtn"]) == ("9011", str(rtn)), reason
    (answer,) = station.send(hj212.frame(segment.replace("&&DataTime", "&DataTime")))  # missing &&
    assert answer.fields["QnRtn"] == "100"
    clock.advance(seconds=1)
    assert [a.cn for a in station.send(station.realtime(clock, {"pm10": 61.0}))] == ["9014"]  # still served
    device_id = session.scalar(select(Device.id).where(Device.code == "DU-1"))
    got = counters(api, login)
    for _, reason, _ in cases:
        assert got[f"rejected:{reason}"] == 1
    assert got["rejected:hj212-bad-cp"] == 1
    mine = {k.rsplit(":", 1)[1]: v for k, v in got.items() if k.startswith(f"hj212:{device_id}:")}
    assert mine == {"hj212-bad-crc": 1, "hj212-bad-value": 1, "hj212-unknown-cn": 1, "hj212-password": 1,
                    "hj212-bad-cp": 1}  # the unknown MN is nobody's
    view = {s["code"]: s for s in api.get("/api/v1/sensors/hj212/stations", headers=login("lead1")).json()}
    assert view["DU-1"]["refused"] == mine and view["DU-1"]["mn"] == DUST[1]
    assert view["DU-1"]["connection"]["frames"] == 7 and DUST[2] not in str(view) and NOISE[2] not in str(view)


def test_a_garbage_client_does_not_disturb_a_healthy_station(app, api, gateway, clock, login, session):
    stop = threading.Event()
    rng = random.Random(5)
    good = hj212_sim.realtime(DUST[1], DUST[2], "dust", local(clock), {"pm10": 50.0})

    def garbage():
        sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
        sock.settimeout(0.01)
        pieces = [b"##", b"\r\n", b"##9999", b"&&", good[:50], good[10:], good[:-6] + b"FFFF\r\n"]
        while not stop.is_set():
            blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) + rng.choice(pieces)
            try:
                sock.sendall(blob)
                sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
                sock.settimeout(0.01)
        sock.close()

    threads = [threading.Thread(target=garbage) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        healthy = Station(gateway.port)
        for _ in range(30):
            clock.advance(seconds=20)
            assert [a.cn for a in healthy.send(healthy.realtime(clock, {"pm10": 50.0}))] == ["9014"]
        deadline = time.monotonic() + 30
        while not (stats := dict(gateway.listener.stats))["junk_bytes"] > 1000 or sum(
                v for k, v in stats.items() if k.startswith("rejected:")) <= 10:
            assert time.monotonic() < deadline, stats  # the garbage went on long enough to be counted
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    clock.advance(seconds=20)
    healthy.send(healthy.realtime(clock, {"pm10": 50.0}))  # flushes the garbage's last counts
    device_id = session.scalar(select(Device.id).where(Device.code == "DU-1"))
    assert len(session.scalars(select(Row.ts).where(Row.device_id == device_id)).all()) == 31
    stats = gateway.listener.stats
    assert stats["junk_bytes"] > 1000 and sum(v for k, v in stats.items() if k.startswith("rejected:")) > 10
    assert api.get("/api/v1/sensors/alarms", params={"device": "DU-1"}, headers=login("lead1")).json() == []


def test_idle_connections_are_closed(gateway):
    sock = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    gateway.listener.settings = gateway.listener.settings.model_copy(update={"sensor_hj212_idle_seconds": 0.2})
    sock2 = socket.create_connection(("127.0.0.1", gateway.port), timeout=10)
    assert sock2.recv(10) == b""  # the listener hung up on the silent station
    sock.close()
    sock2.close()


def test_stations_are_registered_with_mn_and_password(app, api, gateway, clock, login, world):
    admin = login("admin")
    lon, lat = world.point("341122100001003")
    base = {"code": "DU-2", "name": "城南工地扬尘监测", "type": "dust", "lon": lon, "lat": lat, "department": "d02",
            "context": "construction"}
    half = api.post("/api/v1/sensors/devices", json={**base, "hj212_mn": "LADU341122000002"}, headers=admin)
    assert half.status_code == 422 and half.json()["code"] == "hj212-incomplete"
    taken = api.post("/api/v1/sensors/devices", json={**base, "hj212_mn": DUST[1], "hj212_password": "x1"},
                     headers=admin)
    assert taken.status_code == 409 and taken.json()["code"] == "hj212-mn-taken"
    bad = api.post("/api/v1/sensors/devices", json={**base, "hj212_mn": "A;B", "hj212_password": "x1"}, headers=admin)
    assert bad.status_code == 422
    made = api.post("/api/v1/sensors/devices", json={**base, "hj212_mn": "LADU341122000002",
                                                     "hj212_password": "s3cret"}, headers=admin)
    assert made.status_code == 201 and made.json()["hj212_mn"] == "LADU341122000002"
    station = Station(gateway.port, "LADU341122000002", "s3cret")
    assert [a.cn for a in station.send(station.realtime(clock, {"pm10": 70.0}))] == ["9014"]
    text = api.get("/api/v1/sensors/devices.csv", headers=admin).text
    header, *lines = text.splitlines()
    assert header.endswith(",hj212_mn,hj212_password")
    assert any(line.startswith("DU-2,") and line.endswith(",LADU341122000002,s3cret") for line in lines)
    moved = text.replace(",LADU341122000002,s3cret", ",LADU341122000009,n3w")
    assert api.post("/api/v1/sensors/devices/import", content=moved.encode(), headers=admin).json()["updated"] >= 7
    old_format = "\n".join(",".join(line.split(",")[:13]) for line in moved.splitlines())  # no station columns
    assert api.post("/api/v1/sensors/devices/import", content=old_format.encode(), headers=admin).status_code == 200
    assert api.get("/api/v1/sensors/devices/DU-2", headers=admin).json()["hj212_mn"] == "LADU341122000009"
    gateway.loop.run(gateway.listener.refresh(force=True))  # the listener sees registry changes within a minute
    assert [a.fields.get("QnRtn") for a in station.send(station.realtime(clock, {"pm10": 70.0}))] == ["4"]


def test_the_demo_server_task_listens_in_one_worker_and_its_stations_send_over_tcp(app, registered, session):
    from cityloop.sensors.tasks import hj212_listener

    port = free_port()
    app_state(app).settings = app_state(app).settings.model_copy(update={
        "sensor_hj212_port": port, "sensor_demo_interval_seconds": 0.1, "sensor_flush_ms": 5})
    loop = Loop()
    task = asyncio.run_coroutine_threadsafe(hj212_listener(app_state(app)), loop.loop)
    try:
        deadline = time.monotonic() + 20
        while getattr(app_state(app), "sensor_hj212", None) is None or app_state(app).sensor_hj212.stats["readings"] < 2:
            assert time.monotonic() < deadline and not task.done(), "the demo stations sent nothing"
            time.sleep(0.05)
        assert loop.run(hj212_listener(app_state(app)), timeout=5) is None  # another worker: returns at once
        listener = app_state(app).sensor_hj212
        assert {p.mn for p in listener.peers.values()} == {DUST[1], NOISE[1]}
    finally:
        loop.loop.call_soon_threadsafe(task.cancel)
        deadline = time.monotonic() + 10
        while not task.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        loop.stop()
    assert getattr(app_state(app), "sensor_hj212", None) is None  # closed with the worker
    device_ids = dict(session.execute(select(Device.code, Device.id)).all())
    stored = set(session.scalars(select(Row.device_id)))
    assert {device_ids["DU-1"], device_ids["NO-1"]} <= stored


def test_the_demo_server_task_stays_off_when_the_port_is_taken_or_not_in_demo(app, registered):
    from cityloop.sensors.tasks import hj212_listener

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app_state(app).settings = app_state(app).settings.model_copy(update={"sensor_hj212_port": taken.getsockname()[1]})
        assert asyncio.run(asyncio.wait_for(hj212_listener(app_state(app)), 10)) is None
    app_state(app).settings = app_state(app).settings.model_copy(update={"demo": False, "secret_key": "x" * 40})
    assert asyncio.run(asyncio.wait_for(hj212_listener(app_state(app)), 1)) is None
    assert getattr(app_state(app), "sensor_hj212", None) is None



def test_a_station_registered_through_the_api_is_accepted_at_once(app, api, gateway, clock, login, world):
    stranger = Station(gateway.port, "LADU341122000077", "pw77")
    frames = [stranger.realtime(clock, {"pm10": 40.0 + k}) for k in range(5)]
    assert [a.fields.get("QnRtn") for a in stranger.send(*frames)] == ["4"] * 5
    assert gateway.listener.stats["lookups"] == 1  # an unknown MN costs one query a second, not one a frame
    counted = get_ingestor(app_state(app)).counts
    for _ in range(500):  # the refusals' counters are written by the listener's thread: let it finish first
        if counted["rejected:unknown-device"] >= 5:
            break
        time.sleep(0.01)
    lon, lat = world.point("341122100001003")
    made = api.post("/api/v1/sensors/devices", json={
        "code": "DU-3", "name": "城北工地扬尘监测", "type": "dust", "lon": lon, "lat": lat, "department": "d02",
        "context": "construction", "hj212_mn": "LADU341122000003", "hj212_password": "pw3"}, headers=login("admin"))
    assert made.status_code == 201
    station = Station(gateway.port, "LADU341122000003", "pw3")  # at once: no reload of the listener in between
    assert [a.cn for a in station.send(station.realtime(clock, {"pm10": 70.0}))] == ["9014"]
    wrong = Station(gateway.port, "LADU341122000003", "nope")
    assert [a.fields.get("QnRtn") for a in wrong.send(wrong.realtime(clock, {"pm10": 70.0}))] == ["3"]
    for s in (stranger, station, wrong):
        s.close()


def test_station_uploads_that_are_not_data_are_acknowledged_and_stored(app, gateway, clock, session):
    mn, password = DUST[1], DUST[2]
    when = local(clock).strftime("%Y%m%d%H%M%S")
    uploads = {"2081": f"DataTime={when};RestartTime={when}", "2021": f"DataTime={when};SB1-RS=1",
               "2041": f"DataTime={when};SB1-RT=12.5", "3020": f"DataTime={when};PolId=a34002;i12001-Info=1",
               "2081 ": "DataTime=00010101000000;RestartTime=x"}  # a clock that never was set: kept, no time
    station = Station(gateway.port)
    frames = [hj212.frame(f"QN={when}00{k};ST=101;CN={cn.strip()};PW={password};MN={mn};Flag=5;CP=&&{cp}&&")
              for k, (cn, cp) in enumerate(uploads.items())]
    answers = station.send(*frames)
    assert [(a.cn, a.qn) for a in answers] == [("9014", f"{when}00{k}") for k in range(5)]
    station.close()
    rows = session.scalars(select(StationEvent).order_by(StationEvent.id)).all()
    device = session.scalar(select(Device).where(Device.hj212_mn == mn))
    assert [(r.device_id, r.cn) for r in rows] == [(device.id, cn.strip()) for cn in uploads]
    assert rows[0].values == {"RestartTime": when} and rows[1].values == {"SB1-RS": "1"}
    assert rows[0].data_time == clock.now().replace(microsecond=0) and rows[4].data_time is None
    assert gateway.listener.stats["events"] == 5
