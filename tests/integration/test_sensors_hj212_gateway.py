"""The HJ 212 gateway with its ingest process, on a committed database (SQLite file, or a PostgreSQL database of its
own when CITYLOOP_TEST_DATABASE_URL is set): real TCP frames in, 9014 only for what is stored, every reading stored
once, rule state and alarms kept per station, SIGTERM to the whole process group loses nothing, and an ingest
process that dies is started again while its unanswered batch is sent again by the stations; frames malformed past
their header (which the listener leaves to the ingest process) are refused in order and counted per station; a
stored batch is answered once the next batch is on its way to the ingest process, never before; a batch gathers
for flush_ms after a quiet spell only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from cityloop.config import Settings
from cityloop.db import make_engine, make_session_factory
from cityloop.db.migrate import upgrade
from cityloop.sensors import hj212, hj212_sim
from cityloop.sensors.hj212_listener import Listener
from cityloop.sensors.hj212_worker import IngestWorker, WorkerError
from cityloop.sensors.models import Alarm, Counter, Device, Reading, RuleState
from cityloop.sensors.pipeline import Result
from tests.own_database import own_database
from tests.conftest import SHANGHAI, free_port
from tests.factories import seed_world
from tests.integration.sensors_kit import seed_sensors

TZ = ZoneInfo("Asia/Shanghai")
DUST = ("DU-1", "LADU341122000001", "pw0001")
NOISE = ("NO-1", "LANO341122000001", "pw0002")
BASE_URL = os.environ.get("CITYLOOP_TEST_DATABASE_URL", "")


@pytest.fixture
def gateway_db(tmp_path):
    """A migrated, seeded database the gateway's processes can all see; DU-1 and NO-1 are HJ 212 stations."""
    with own_database(tmp_path, "gateway") as url:
        upgrade(url)
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            now = datetime.now(SHANGHAI)
            seed_sensors(session, seed_world(session, now), Settings(database_url=url, demo=True), now)
            for code, mn, password in (DUST, NOISE):
                session.execute(update(Device).where(Device.code == code).values(hj212_mn=mn,
                                                                                hj212_password=password))
            session.commit()
        yield url, engine
        engine.dispose()


def connect(port: int, deadline: float) -> socket.socket:
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=60)
        except OSError:
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)


def exchange(sock: socket.socket, reader: hj212.FrameReader, frames: list[bytes]) -> list[hj212.Packet]:
    """Send frames in one write; the answers to all of them."""
    sock.sendall(b"".join(frames))
    got: list[hj212.Packet] = []
    while len(got) < len(frames):
        data = sock.recv(65536)
        assert data, "the gateway hung up"
        got += [hj212.decode(item) for item in reader.feed(data)]
    return got


def realtime(station: tuple[str, str, str], kind: str, at: datetime, vals: dict) -> bytes:
    return hj212_sim.realtime(station[1], station[2], kind, at.astimezone(TZ).replace(tzinfo=None), vals)


def gone(group: int, seconds: float = 10) -> bool:
    """True once no process of the group is left (multiprocessing's resource tracker ends a moment later)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def count(engine, code: str) -> int:
    with make_session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(Reading).join(Device, Device.id == Reading.device_id)
                        .where(Device.code == code))


def test_the_gateway_answers_what_its_ingest_process_stored_and_keeps_everything_on_sigterm(gateway_db, tmp_path):
    url, engine = gateway_db
    port = free_port()
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_DEMO": "1",
           "CITYLOOP_SENSOR_STATE_FLUSH_SECONDS": "3600"}  # rule state is written at the end only
    log = tmp_path / "gateway.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cityloop.cli", "gateway", "hj212", "--port", str(port),
                                 "--host", "127.0.0.1"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        dust, noise = connect(port, time.monotonic() + 90), connect(port, time.monotonic() + 90)
        start = (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
        # 300 µg/m³ every 30 s for 6 minutes, in construction hours: held over 5 minutes, the dust rule raises an alarm
        frames = [realtime(DUST, "dust", start + timedelta(seconds=30 * i), {"pm10": 300.0}) for i in range(12)]
        reader = hj212.FrameReader()
        for at in range(0, 12, 4):
            answers = exchange(dust, reader, frames[at:at + 4])
            assert [(a.cn, a.qn) for a in answers] == [("9014", hj212.decode(f).qn) for f in frames[at:at + 4]]
        resent = exchange(dust, reader, frames[:3])  # answers lost on the way: the station sends them again
        assert [a.cn for a in resent] == ["9014"] * 3
        loud = [realtime(NOISE, "noise", start + timedelta(seconds=60 * i), {"leq_db": 50.0}) for i in range(5)]
        assert [a.cn for a in exchange(noise, hj212.FrameReader(), loud)] == ["9014"] * 5
        os.killpg(proc.pid, signal.SIGTERM)  # as systemd stops a unit: every process of it
        assert proc.wait(90) == 0, log.read_text()
        assert gone(proc.pid), subprocess.run(["ps", "-o", "pid,args", "-g", str(proc.pid)], capture_output=True,
                                              text=True).stdout  # the ingest process ended with the listener
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        dust.close()
        noise.close()
    assert (count(engine, "DU-1"), count(engine, "NO-1")) == (12, 5)  # each reading once
    with make_session_factory(engine)() as s:
        du1 = s.scalar(select(Device).where(Device.code == "DU-1"))
        alarms = s.execute(select(Alarm.rule_code, Alarm.is_open).where(Alarm.device_id == du1.id)).all()
        states = set(s.scalars(select(RuleState.rule_code).where(RuleState.device_id == du1.id)))
        assert alarms == [("dust_pm10", True)]
        assert "dust_pm10" in states  # written by the ingest process as it ended
        assert du1.last_seen_at is not None and du1.last_values["pm10"] == 300.0


class Gateway:
    """A listener with its ingest process (or a stand-in made on the gateway's loop), on an event loop of its own in
    this process."""

    def __init__(self, url: str, flush_ms: int = 5, worker=None) -> None:
        self.settings = Settings(database_url=url, demo=True, sensor_flush_ms=flush_ms)
        self.engine = make_engine(url)
        self.loop = asyncio.new_event_loop()
        self.worker = IngestWorker(self.settings) if worker is None else worker(self.loop)
        self.listener = Listener(None, make_session_factory(self.engine), self.settings, self.worker)

    def run(self, coro, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextlib.contextmanager
def serving(gw: Gateway):
    """The gateway listening on a free port, its loop on a thread, until the block ends."""
    thread = threading.Thread(target=gw.loop.run_forever, daemon=True)
    thread.start()
    gw.port = gw.run(gw.listener.start("127.0.0.1", 0))
    yield gw
    gw.run(gw.listener.close())
    gw.loop.call_soon_threadsafe(gw.loop.stop)
    thread.join(10)
    gw.engine.dispose()


@pytest.fixture
def gateway(gateway_db, request):
    """The in-process gateway, and the database's engine (param: flush_ms)."""
    url, engine = gateway_db
    with serving(Gateway(url, getattr(request, "param", 5))) as gw:
        yield gw, engine


def test_frames_malformed_past_their_header_are_refused_in_order_and_counted_per_station(gateway):
    gw, engine = gateway
    sock, reader = connect(gw.port, time.monotonic() + 10), hj212.FrameReader()
    start = datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(minutes=5)
    good = [realtime(DUST, "dust", start + timedelta(seconds=30 * i), {"pm10": 40.0}) for i in range(3)]
    text = hj212.unframe(good[1])
    bad_value = hj212.frame(text.replace("a34002-Rtd=40", "a34002-Rtd=4O"))
    no_time = hj212.frame(text.replace(text[text.index("DataTime="):text.index(";", text.index("DataTime=")) + 1], ""))
    answers = exchange(sock, reader, [good[0], bad_value, good[1], no_time, good[2]])
    assert [(a.cn, a.fields.get("QnRtn")) for a in answers] == [("9014", None), ("9011", "100"), ("9014", None),
                                                                ("9011", "100"), ("9014", None)]
    assert [a.qn for a in answers] == [hj212.decode_head(f).qn for f in
                                       (good[0], bad_value, good[1], no_time, good[2])]
    sock.close()
    assert count(engine, "DU-1") == 3
    with make_session_factory(engine)() as s:
        du1 = s.scalar(select(Device.id).where(Device.code == "DU-1"))
        counters = dict(s.execute(select(Counter.name, Counter.value)).all())
    assert counters["rejected:hj212-bad-value"] == counters["rejected:hj212-bad-time"] == 1
    assert counters[f"hj212:{du1}:hj212-bad-value"] == counters[f"hj212:{du1}:hj212-bad-time"] == 1
    assert gw.listener.stats["rejected:hj212-bad-value"] == gw.listener.stats["rejected:hj212-bad-time"] == 1


def test_an_ingest_process_that_dies_is_started_again_and_its_lost_batch_is_sent_again(gateway):
    gw, engine = gateway
    sock, reader = connect(gw.port, time.monotonic() + 10), hj212.FrameReader()
    start = datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(minutes=5)
    first, second = (realtime(DUST, "dust", start + timedelta(seconds=s), {"pm10": 40.0}) for s in (0, 30))
    assert [a.cn for a in exchange(sock, reader, [first])] == ["9014"]
    dead = gw.worker.process
    os.kill(dead.pid, signal.SIGKILL)
    dead.join(30)
    sock.sendall(second)  # its batch fails with the process: no answer
    sock.settimeout(1.5)
    with pytest.raises(TimeoutError):
        sock.recv(65536)
    sock.settimeout(120)
    assert [(a.cn, a.qn) for a in exchange(sock, reader, [second])] == [("9014", hj212.decode(second).qn)]
    assert gw.worker.process is not None and gw.worker.process.pid != dead.pid
    sock.close()
    assert count(engine, "DU-1") == 2


@pytest.mark.parametrize("gateway", [2500], indirect=True)
def test_a_batch_gathers_after_a_quiet_spell_but_not_between_an_answer_and_the_next_frame(gateway):
    gw, engine = gateway
    sock, reader = connect(gw.port, time.monotonic() + 10), hj212.FrameReader()
    start = datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(minutes=5)
    frames = [realtime(DUST, "dust", start + timedelta(seconds=30 * i), {"pm10": 40.0}) for i in range(3)]
    took = []
    time.sleep(2.7)  # quiet since the listener started
    for frame in frames:
        t = time.monotonic()
        assert [a.cn for a in exchange(sock, reader, [frame])] == ["9014"]
        took.append(time.monotonic() - t)
    sock.close()
    assert took[0] >= 2.4  # the first frame after a quiet spell waits flush_ms for others to join its batch
    assert took[1] < 1.5 and took[2] < 1.5, took  # sent right after an answer: the station is busy, not quiet
    assert count(engine, "DU-1") == 3


class SlowHandOff:
    """Stands in for the ingest process: handing a batch over takes a while (the real sending thread may wait for the
    GIL while the loop writes answers); it logs each hand-over, then stores the batch when the test opens its gate."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fail_second: bool = False) -> None:
        self.loop, self.fail_second = loop, fail_second
        self.handed: list[int] = []
        self.gates = {1: asyncio.Event(), 2: asyncio.Event()}
        self.batches = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def invalidate(self) -> None:
        return None

    async def store(self, frames, stations, counts, sent=None):
        self.batches += 1
        batch = self.batches
        await asyncio.sleep(0.3)
        if batch == 2 and self.fail_second:
            raise WorkerError("the HJ 212 ingest process is down")
        self.handed.append(batch)
        if sent is not None:
            sent()
        await self.gates[batch].wait()
        return Result(accepted=len(frames), stored=len(frames)), []

    def open(self, batch: int) -> None:
        self.loop.call_soon_threadsafe(self.gates[batch].set)


@pytest.fixture
def slow_gateway(gateway_db, request):
    """The in-process gateway with SlowHandOff for its ingest process (param: fail_second)."""
    url, _ = gateway_db
    with serving(Gateway(url, worker=lambda loop: SlowHandOff(loop, fail_second=request.param))) as gw:
        yield gw.port, gw.listener, gw.worker
        gw.worker.open(1)  # let a batch still waiting end, so closing does not wait for it
        gw.worker.open(2)


def wait_for(check, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def codes(sock: socket.socket, seconds: float = 10) -> list[str]:
    """The command codes of what the gateway sent on sock in one read."""
    sock.settimeout(seconds)
    return [hj212.decode(f).cn for f in hj212.FrameReader().feed(sock.recv(65536))]


def store_first_batch(port: int, listener: Listener, worker: SlowHandOff) -> tuple[socket.socket, socket.socket]:
    """DU-1's frame is the first batch; NO-1's frame waits for the next one while the first is stored."""
    at = datetime.now(SHANGHAI).replace(microsecond=0) - timedelta(minutes=5)
    dust, noise = connect(port, time.monotonic() + 10), connect(port, time.monotonic() + 10)
    dust.sendall(realtime(DUST, "dust", at, {"pm10": 40.0}))
    wait_for(lambda: worker.handed == [1])
    noise.sendall(realtime(NOISE, "noise", at, {"leq_db": 50.0}))
    wait_for(lambda: listener.queued == 1)
    worker.open(1)
    return dust, noise


@pytest.mark.parametrize("slow_gateway", [False], indirect=True)
def test_a_stored_batch_is_answered_once_the_next_batch_is_handed_over_and_the_last_one_at_once(slow_gateway):
    port, listener, worker = slow_gateway
    dust, noise = store_first_batch(port, listener, worker)
    assert codes(dust) == ["9014"]
    assert worker.handed == [1, 2]  # answered only once the next batch was on its way
    worker.open(2)
    assert codes(noise) == ["9014"]  # nothing waits: answered at once
    dust.close()
    noise.close()


@pytest.mark.parametrize("slow_gateway", [True], indirect=True)
def test_a_stored_batch_is_answered_even_when_the_next_one_cannot_be_handed_over(slow_gateway):
    port, listener, worker = slow_gateway
    dust, noise = store_first_batch(port, listener, worker)
    assert codes(dust) == ["9014"]
    assert worker.handed == [1]
    with pytest.raises(TimeoutError):  # its batch failed: the station sends it again
        codes(noise, 1.5)
    dust.close()
    noise.close()
