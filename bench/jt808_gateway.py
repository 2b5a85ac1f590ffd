"""jt808_gateway: location messages/s through the JT/T 808 gateway with 10,000 concurrent terminal connections.

The gateway runs as `cityloop gateway jt808` does (uvloop, the real pipeline: positions stored in batches and run
through every violation rule) in its own process; 10,000 terminals register, authenticate, then each sends 0x0200
and waits for its 0x8001 before the next (as terminals do). Positions are counted as stored once the pipeline has
written them. Baseline (same run, same clients): the same gateway storing each position with its own INSERT and
COMMIT before answering — a per-message database round trip.

Set BENCH_DATABASE_URL to run against PostgreSQL instead of a temporary SQLite file."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from sqlalchemy import text  # noqa: E402

from cityloop.runtime import build_state  # noqa: E402
from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.fleet import jt808 as j  # noqa: E402
from cityloop.fleet.gateway import Gateway, issue_auth_code  # noqa: E402
from cityloop.state import AppState  # noqa: E402

CONNECTIONS = int(os.environ.get("JT808_BENCH_CONNECTIONS", 10_000))
SECONDS, BASELINE_SECONDS, FRAMES = 10.0, 6.0, 120
SECRET = "bench-secret-of-thirty-two-bytes-or-more"


def setup(url: str, start: float) -> list[tuple[bytes, list[bytes]]]:
    """A migrated database with the demo geography and CONNECTIONS trucks with permits; returns each truck's
    authentication frame and its location frames, one a second from `start` as the simulator drives it."""
    from cityloop.fleet.demo import ensure_fleet
    from cityloop.fleet.ingest import load_world
    from cityloop.fleet.simulate import Fleet, plans_from_db
    from cityloop.fleet.world import World
    from cityloop.db.migrate import upgrade

    upgrade(url)
    settings = Settings(database_url=url, secret_key=SECRET)
    now = datetime.fromtimestamp(start, timezone.utc)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        ensure_fleet(session, settings, CONNECTIONS, now)
        spec = load_world(session, None)
        plans = plans_from_db(session, spec, now, limit=CONNECTIONS)
    engine.dispose()  # the servers open their own connections (in fresh processes)
    fleet = Fleet(plans, World(spec), start)
    frames: dict[str, list[bytes]] = {p.phone: [] for p in plans}
    for k in range(FRAMES):
        for r in fleet.reports(start + k):
            frames[r.phone].append(j.encode_frame(j.LOCATION, r.phone, 2 + len(frames[r.phone]),
                                                  j.encode_location(r.location())))
    return [(j.encode_frame(j.AUTHENTICATE, p.phone, 1, j.encode_auth(issue_auth_code(SECRET, p.phone.lstrip("0")))),
             frames[p.phone]) for p in plans]  # a silent terminal (the simulator's 'offline' ones) stays connected


def _state(url: str) -> AppState:
    from cityloop.shared.clock import SystemClock

    settings = Settings(database_url=url, secret_key=SECRET, jt808_idle_seconds=600)
    engine = make_engine(url)
    reads = make_engine(url, readonly=True) if settings.is_sqlite else engine
    return build_state(settings, engine=engine, session_factory=make_session_factory(engine), clock=SystemClock(),
                       read_session_factory=make_session_factory(reads))


def _write_stats(path: str, stats: dict) -> None:
    """Replace the stats file at once (the driver reads it meanwhile)."""
    Path(path + ".tmp").write_text(json.dumps(stats))
    os.replace(path + ".tmp", path)


def serve_pipeline(url: str, ports: mp.Queue, stats_file: str) -> None:
    """The gateway with its real pipeline (what `cityloop gateway jt808` runs)."""
    import uvloop

    from cityloop.fleet.runner import run_gateway

    state = _state(url)

    async def report():
        while True:
            await asyncio.sleep(0.5)
            gw, pipe = state.fleet_gateway, state.fleet_pipeline
            if gw is not None and pipe is not None:
                _write_stats(stats_file, {**gw.stats, **{f"p_{k}": v for k, v in pipe.stats.items()},
                                          "cpu_s": time.process_time()})

    async def main():
        await asyncio.gather(run_gateway(state, "127.0.0.1", 0, started=ports.put, dedicated=True), report())

    uvloop.run(main())


def serve_commit_each(url: str, ports: mp.Queue, stats_file: str) -> None:
    """The baseline: the same gateway, but every position is inserted and committed before the answer."""
    import uvloop

    from cityloop.fleet.ingest import Pipeline

    state = _state(url)
    pipeline = Pipeline(state)
    with state.session_factory() as session:
        pipeline.refresh(session)
    conn = state.session_factory().connection()
    sql = text("INSERT INTO fleet_positions (vehicle_id, t, lon, lat, speed, heading, alarm, status, flags) "
               "VALUES (:v, :t, :x, :y, :s, :h, :a, :m, :f) ON CONFLICT DO NOTHING")

    class CommitEach(list):
        def append(self, fix):
            v, t, x, y, s, h, a, m, f = fix
            conn.execute(sql, {"v": v, "t": int(t), "x": x, "y": y, "s": s, "h": h, "a": a, "m": m, "f": f})
            conn.commit()

    async def main():
        gw = Gateway(pipeline.directory, lambda batch: None, idle_seconds=600)
        gw.pending = CommitEach()
        ports.put(await gw.start("127.0.0.1", 0))
        while True:
            await asyncio.sleep(0.5)
            _write_stats(stats_file, {**gw.stats, "cpu_s": time.process_time()})

    uvloop.run(main())


class Client(asyncio.Protocol):
    """One terminal: authenticate, wait for the start, then send a location and wait for its answer, again."""

    def __init__(self, auth: bytes, frames: list[bytes], counter: list):
        self.auth, self.frames, self.counter, self.flags, self.k = auth, frames, counter, 0, 0

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.auth)

    def go(self) -> None:
        if self.frames:
            self.transport.write(self.frames[0])
            self.k = 1

    def data_received(self, data):
        self.flags += data.count(b"\x7e")
        answers, self.flags = self.flags // 2, self.flags % 2
        if not answers or not self.k:  # the answer to the authentication
            return
        self.counter[0] += answers
        if self.counter[1] and self.k < len(self.frames):
            self.transport.write(self.frames[self.k])
            self.k += 1


def _read_stats(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


async def drive(port: int, terminals: list[tuple[bytes, list[bytes]]], seconds: float,
                stats_file: str) -> tuple[float, int, float | None]:
    """Messages/s answered during `seconds`, after every terminal is connected, and the server's CPU µs per
    message over that time (from its stats file: a measure the other load on the machine hardly moves)."""
    loop, counter = asyncio.get_running_loop(), [0, True]
    clients = []
    for auth, frames in terminals:
        for _ in range(50):
            try:
                _, client = await loop.create_connection(lambda a=auth, f=frames: Client(a, f, counter), "127.0.0.1",
                                                         port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        clients.append(client)
    await asyncio.sleep(2.0)  # every terminal authenticated
    for client in clients:
        client.go()
    await asyncio.sleep(1.0)
    start, t0, before = counter[0], time.perf_counter(), _read_stats(stats_file)
    await asyncio.sleep(seconds)
    rate = (counter[0] - start) / (time.perf_counter() - t0)
    after = _read_stats(stats_file)
    frames = after.get("frames", 0) - before.get("frames", 0)
    cpu_us = round((after["cpu_s"] - before["cpu_s"]) / frames * 1e6, 2) if frames > 0 and "cpu_s" in before else None
    counter[1] = False
    for client in clients:
        client.transport.close()
    return rate, counter[0], cpu_us


def run(target, url: str, terminals, seconds: float) -> tuple[float, int, dict, float]:
    import uvloop

    stats_file = tempfile.mktemp(suffix=".json")
    ctx = mp.get_context("spawn")  # never share SQLite handles across a fork
    ports = ctx.Queue()
    server = ctx.Process(target=target, args=(url, ports, stats_file), daemon=True)
    server.start()
    port = ports.get(timeout=120)
    rate, answered, cpu_us = uvloop.run(drive(port, terminals, seconds, stats_file))
    t0, stats = time.monotonic(), {}
    while time.monotonic() - t0 < 60:  # let the pipeline write what it has queued
        time.sleep(0.5)
        stats = _read_stats(stats_file)
        if stats.get("p_stored", stats.get("positions", 0)) >= stats.get("positions", 0):
            break
    drained = time.monotonic() - t0
    server.terminate()
    server.join()
    stats["server_cpu_us_per_message"] = cpu_us
    return rate, answered, stats, drained


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < CONNECTIONS + 100:  # client and server are separate processes
        print(f"RLIMIT_NOFILE hard limit {hard} is below {CONNECTIONS + 100}: fewer connections possible")
    url = os.environ.get("BENCH_DATABASE_URL")
    tmp = tempfile.mkdtemp()
    url = url or f"sqlite:///{tmp}/bench.db"
    terminals = setup(url, time.time() + 60)
    load = os.getloadavg()
    rate, answered, stats, drained = run(serve_pipeline, url, terminals, SECONDS)
    base_rate, _, base_stats, _ = run(serve_commit_each, url, terminals, BASELINE_SECONDS)
    write_result("jt808_gateway", "messages/s", rate, True, "commit_per_message_messages_per_s", base_rate, {
        "connections": len(terminals), "seconds": SECONDS, "answered": answered,
        "positions_queued": stats.get("positions", 0), "positions_stored": stats.get("p_stored", 0),
        "pipeline_drain_s_after_run": round(drained, 1), "violations": stats.get("p_violations", 0),
        "server": stats, "bad_frames": stats.get("bad_frames", 0), "rlimit_nofile": [soft, hard],
        "client": "same machine, uvloop",
        "mode": "each terminal waits for 0x8001 before its next 0x0200", "baseline_seconds": BASELINE_SECONDS,
        "server_cpu_us_per_message": stats.get("server_cpu_us_per_message"),
        "baseline_server_cpu_us_per_message": base_stats.get("server_cpu_us_per_message"),
        "load_before": load, "load_after": os.getloadavg(),
    }, "postgresql" if url.startswith("postgresql") else "sqlite")


if __name__ == "__main__":
    main()
