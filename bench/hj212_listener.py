"""hj212_listener: frames/s through the HJ 212 listener — TCP → split and decode → station check (MN, password)
→ validation → rules → batched store → 9014 answer — with many concurrent stations, each keeping WINDOW frames in
flight; plus the p50/p99 time from a frame's send to its answer.

Setup: the demo county's grids, units and catalog on a fresh SQLite file (or CITYLOOP_BENCH_DATABASE_URL), DEVICES
simulated devices of which the dust and noise monitors are HJ 212 stations; the stations run in a child process
(asyncio, one connection each), the listener in this one and, as `cityloop gateway hj212` runs them, rules and store
in its ingest process (HJ212_BENCH_INGEST=thread: on a thread of this one, as before). Baseline in the same run: the codec alone —
the splitter and decode() over the same frames on one core, no I/O. Both sides run on uvloop, as
`cityloop gateway hj212` does."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.sensors import hj212, hj212_sim  # noqa: E402
from cityloop.sensors.hj212_listener import Listener  # noqa: E402
from cityloop.sensors.hj212_worker import IngestWorker  # noqa: E402
from cityloop.sensors.pipeline import Ingestor  # noqa: E402
from cityloop.shared.clock import SystemClock  # noqa: E402

DEVICES = int(os.environ.get("HJ212_BENCH_DEVICES", 2000))
FRAMES = int(os.environ.get("HJ212_BENCH_FRAMES", 60_000))
WINDOW = int(os.environ.get("HJ212_BENCH_WINDOW", 5))
INGEST = os.environ.get("HJ212_BENCH_INGEST", "process")
TZ = ZoneInfo("Asia/Shanghai")


def setup(url: str, settings: Settings) -> list[tuple[str, str, str, str]]:
    """The county and the simulated devices; returns the stations (code, kind, MN, password)."""
    from sqlalchemy import func, select

    from cityloop.demo import county
    from cityloop.geo.models import UnitGrid
    from cityloop.db.migrate import upgrade
    from cityloop.sensors.models import Device
    from cityloop.sensors.simfeed import ensure_sim_devices

    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        if not session.scalar(select(func.count()).select_from(UnitGrid)):
            county.build_base(session, settings, SystemClock().now())
        ensure_sim_devices(session, DEVICES, SystemClock().now())
        stations = [tuple(r) for r in session.execute(
            select(Device.code, Device.type, Device.hj212_mn, Device.hj212_password)
            .where(Device.hj212_mn.is_not(None), Device.code.like("SIM-%")).order_by(Device.code))]
    engine.dispose()
    return stations


def build_frames(stations, per_station: int) -> list[list[bytes]]:
    """Per station, per_station real-time frames one second apart, ending now (quiet values, answers asked)."""
    rng = random.Random(3)
    end = datetime.now(TZ).replace(tzinfo=None, microsecond=0)
    out = []
    for code, kind, mn, pw in stations:
        start = end - timedelta(seconds=per_station)
        out.append([hj212_sim.realtime(mn, pw, kind, start + timedelta(seconds=i),
                                       hj212_sim.values(code, kind, hj212_sim.simulate.Plan(), 0.5, rng))
                    for i in range(per_station)])
    return out


async def _station(port: int, frames: list[bytes], window: int, lat: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    splitter, got = hj212.FrameReader(), 0
    for at in range(0, len(frames), window):
        chunk = frames[at:at + window]
        t = time.perf_counter()
        writer.write(b"".join(chunk))
        want = got + len(chunk)
        while got < want:
            data = await reader.read(65536)
            if not data:
                return got
            got += sum(1 for item in splitter.feed(data) if isinstance(item, bytes))
        lat.append(time.perf_counter() - t)
    writer.close()
    return got


def stations_process(port: int, frames: list[list[bytes]], window: int, out) -> None:
    """Child process: every station connects and sends its frames, WINDOW at a time, waiting for the answers."""
    async def main():
        lat: list[float] = []
        t0, cpu0 = time.perf_counter(), time.process_time()
        got = await asyncio.gather(*(_station(port, f, window, lat) for f in frames))
        return sum(got), time.perf_counter() - t0, sorted(lat), time.process_time() - cpu0

    import uvloop

    out.put(uvloop.run(main()))


async def run_listener(url: str, settings: Settings, frames: list[list[bytes]]) -> dict:
    engine = make_engine(url)
    worker, ingestor = None, None
    if INGEST == "process":  # as `cityloop gateway hj212`
        worker = IngestWorker(settings)
        listener = Listener(None, make_session_factory(engine), settings, worker)
    else:
        ingestor = Ingestor(make_session_factory(engine), settings, SystemClock())
        ingestor.accept([])  # load devices and the grid index before the clock starts
        listener = Listener(ingestor, ingestor.factory, settings)
    port = await listener.start("127.0.0.1", 0, dedicated=True)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=stations_process, args=(port, frames, WINDOW, out))
    cpu0, use0 = time.process_time(), resource.getrusage(resource.RUSAGE_SELF)
    ingest_cpu0 = worker.cpu_seconds if worker is not None else 0.0
    proc.start()
    answered, seconds, lat, stations_cpu = await asyncio.to_thread(out.get)
    cpu = time.process_time() - cpu0  # the listener (and ingestor thread) — the stations run in the child
    ingest_cpu = worker.cpu_seconds - ingest_cpu0 if worker is not None else 0.0
    use = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.to_thread(proc.join)
    await listener.close()
    if ingestor is not None:
        ingestor.flush_state()
    engine.dispose()
    stored = worker.counts["stored"] if worker is not None else ingestor.counts["stored"] if ingestor else 0

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 4) if lat else None

    st = listener.stats
    return {"answered": answered, "seconds": round(seconds, 3), "frames_per_s": round(answered / seconds, 1),
            "ingest": INGEST, "readings_stored": stored, "refused": sum(v for k, v in st.items()
                                                                         if k.startswith("rejected:")),
            "answer_p50_s": pct(0.5), "answer_p99_s": pct(0.99),
            "listener_cpu_us_per_frame": round(cpu / max(1, answered) * 1e6, 2),
            "ingest_process_cpu_us_per_frame": round(ingest_cpu / max(1, answered) * 1e6, 2),
            "listener_and_ingest_cpu_us_per_frame": round((cpu + ingest_cpu) / max(1, answered) * 1e6, 2),
            "stations_cpu_us_per_frame": round(stations_cpu / max(1, answered) * 1e6, 2),
            "listener_user_us_per_frame": round((use.ru_utime - use0.ru_utime) / max(1, answered) * 1e6, 2),
            "listener_sys_us_per_frame": round((use.ru_stime - use0.ru_stime) / max(1, answered) * 1e6, 2)}


def codec_alone(frames: list[list[bytes]]) -> float:
    """Frames/s of the splitter and decode() over the same frames (one core, no I/O)."""
    streams = [b"".join(f) for f in frames]
    n = sum(len(f) for f in frames)
    t = time.perf_counter()
    for stream in streams:
        for item in hj212.FrameReader().feed(stream):
            hj212.decode(item)
    return n / (time.perf_counter() - t)


def main() -> None:
    db_url = os.environ.get("CITYLOOP_BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/hj212_bench.db"
    settings = Settings(database_url=db_url, demo=True, sensor_flush_ms=20)
    stations = setup(db_url, settings)
    frames = build_frames(stations, max(WINDOW, FRAMES // len(stations)))
    import uvloop

    load = os.getloadavg()
    result = uvloop.run(run_listener(db_url, settings, frames))
    base = codec_alone(frames)
    params = {"stations": len(stations), "frames": sum(len(f) for f in frames), "window": WINDOW,
              "flush_ms": settings.sensor_flush_ms, **result, "loop": "uvloop", "load_before": load,
              "load_after": os.getloadavg(),
              "note": "provisional: 2 shared cores; stations, listener and ingestor on one machine"}
    write_result("hj212_listener", "frames/s", result["frames_per_s"], True,
                 "codec alone: split + decode of the same frames, one core (frames/s)", base, params,
                 "postgresql" if db_url.startswith("postgresql") else "sqlite")


if __name__ == "__main__":
    main()
