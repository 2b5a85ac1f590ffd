"""sensor_ingest: readings/s end to end (MQTT → validate → rules → store → alarms/cases) through a private
Mosquitto, with the p99 delay from reading to stored and from reading to case; plus the rules alone.

Setup: the demo county's grids, units and catalog on a fresh SQLite file (or CITYLOOP_BENCH_DATABASE_URL), 5,000
simulated devices; a publisher process sends a rainstorm (a tenth of the waterlogging monitors flood, covers are
knocked open) as gateway batches of PER_MESSAGE readings of one device; PROCESSES ingest workers (default: one per
core), each a subscriber and ingestor owning the devices that hash to it, as `cityloop ingest mqtt --workers N`
runs them; a storm of the same size through one worker is reported beside it. Baseline (same run, same broker,
same messages): the broker's raw publish → receive rate with a paho subscriber that does nothing. ingest_cpu_us_per_reading (the workers' CPU time per reading: subscribers and
ingestors) is what the other load on a shared machine hardly moves."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.sensors import simulate  # noqa: E402
from cityloop.sensors.mqtt import LocalBroker, Subscriber, client, publish  # noqa: E402
from cityloop.sensors.pipeline import Ingestor  # noqa: E402
from cityloop.sensors.readings import Reading  # noqa: E402
from cityloop.shared.clock import SystemClock  # noqa: E402
from cityloop.shared.collector import quiet_collector  # noqa: E402

DEVICES = int(os.environ.get("SENSOR_BENCH_DEVICES", 5000))
PER_MESSAGE = int(os.environ.get("SENSOR_BENCH_PER_MESSAGE", 10))
READINGS = int(os.environ.get("SENSOR_BENCH_READINGS", 300_000))
PACED_RATE = int(os.environ.get("SENSOR_BENCH_PACED_RATE", 20_000))  # readings/s offered in the latency phase
PACED_SECONDS = float(os.environ.get("SENSOR_BENCH_PACED_SECONDS", 10))
PROCESSES = int(os.environ.get("SENSOR_BENCH_PROCESSES", os.cpu_count() or 1))  # as `ingest mqtt --workers`
TENANT = "341122"


def setup(url: str, settings: Settings) -> list[tuple[str, str]]:
    from cityloop.demo import county
    from cityloop.db.migrate import upgrade
    from cityloop.sensors.simfeed import ensure_sim_devices

    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        from sqlalchemy import func, select

        from cityloop.geo.models import UnitGrid
        if not session.scalar(select(func.count()).select_from(UnitGrid)):
            county.build_base(session, settings, SystemClock().now())
        ensure_sim_devices(session, DEVICES, SystemClock().now())
        from cityloop.sensors.models import Device
        devices = [tuple(r) for r in session.execute(select(Device.code, Device.type).where(
            Device.code.like("SIM-%")).order_by(Device.code))]
    engine.dispose()
    return devices


def templates(devices, plan, total: int, per_message: int) -> list[tuple[str, str]]:
    """Gateway messages cycling over the devices, built before the clock starts; each reading's "ts" is a %s
    slot filled with its send time when published (the delay is measured from there)."""
    rng = random.Random(5)
    out, sent, i = [], 0, 0
    while sent < total:
        code, kind = devices[i % len(devices)]
        i += 1
        f = min(1.0, sent / total)
        batch = [{"ts": "@TS@", "values": simulate.values(code, kind, plan, f, rng)} for _ in range(per_message)]
        text = json.dumps(batch).replace("%", "%%").replace('"@TS@"', "%s")
        out.append((f"cityloop/{TENANT}/devices/{code}/telemetry", text))
        sent += per_message
    return out


def publisher(url: str, msgs: list, per_message: int, rate: float, done) -> None:
    """Run in a child process: publish the messages (at `rate` readings/s when rate > 0), ts = send time."""
    start = time.time()
    offsets = [(per_message - 1 - j) * 2 for j in range(per_message)]

    def paced():
        for n, (topic, text) in enumerate(msgs):
            if rate:
                lag = start + n * per_message / rate - time.time()
                if lag > 0:
                    time.sleep(lag)
            now_ms = int(time.time() * 1000)
            yield topic, (text % tuple((now_ms - o) / 1000 for o in offsets)).encode()

    publish(url, paced(), qos=0)
    done.value = time.time() - start


def baseline(url: str, devices, plan) -> float:
    """Messages/s (as readings/s) the broker moves to a subscriber doing nothing, same messages."""
    got = multiprocessing.Value("i", 0)
    c = client(url)
    first, last = [], []

    def on_message(cl, ud, msg):
        if not first:
            first.append(time.time())
        got.value += 1
        last[:] = [time.time()]

    c.on_message = on_message
    host, port = url.rsplit(":", 1)
    c.connect("127.0.0.1", int(port))
    c.subscribe(f"cityloop/{TENANT}/devices/+/telemetry")
    c.loop_start()
    time.sleep(0.5)
    n_msgs = READINGS // PER_MESSAGE
    done = multiprocessing.Value("d", 0.0)
    msgs = templates(devices, plan, READINGS, PER_MESSAGE)
    proc = multiprocessing.get_context("fork").Process(target=publisher, args=(url, msgs, PER_MESSAGE, 0, done))
    t0 = time.time()
    proc.start()
    while got.value < n_msgs and time.time() - t0 < 120:
        time.sleep(0.05)
    proc.join()
    c.loop_stop()
    c.disconnect()
    return got.value * PER_MESSAGE / (last[0] - t0)


def ingest_process(url: str, db_url: str, settings: Settings, partition: tuple[int, int] | None, handled,
                   ready, go, stop, results) -> None:
    """Run in a child process, as one `cityloop ingest mqtt` worker: subscribe, ingest until told to stop, then
    report counts, delays and this process's CPU time from `go` on."""
    engine = make_engine(db_url)
    ingestor = Ingestor(make_session_factory(engine), settings, SystemClock())
    ingestor.accept([])  # load devices and the grid index before the clock starts
    quiet_collector()  # as `ingest mqtt` does
    sub = Subscriber(ingestor, settings, url, shared=True, partition=partition).start()
    assert sub.ready.wait(10)
    ready.release()
    go.wait()
    cpu0 = time.process_time()
    k = partition[0] if partition else 0
    while not stop.is_set():
        handled[k] = ingestor.counts["accepted"] + sum(v for key, v in ingestor.counts.items()
                                                       if key.startswith("rejected:"))
        time.sleep(0.01)
    cpu = time.process_time() - cpu0
    sub.stop()
    ingestor.flush_state()
    engine.dispose()
    results.put({"accepted": ingestor.counts["accepted"], "stored": ingestor.counts["stored"],
                 "rejected": sum(v for key, v in ingestor.counts.items() if key.startswith("rejected:") and v),
                 "latencies": list(ingestor.latencies), "case_latencies": list(ingestor.case_latencies),
                 "batches": sub.batches, "cpu": cpu})


def end_to_end(url: str, db_url: str, settings: Settings, devices, plan, total: int, rate: float,
               processes: int) -> dict:
    """Readings/s through `processes` ingest workers (partitioned by device when more than one)."""
    ctx = multiprocessing.get_context("fork")
    handled = ctx.Array("q", processes)
    ready, go, stop, results = ctx.Semaphore(0), ctx.Event(), ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=ingest_process, args=(url, db_url, settings, (k, processes) if processes > 1
                                                        else None, handled, ready, go, stop, results))
               for k in range(processes)]
    for w in workers:
        w.start()
    for _ in workers:
        assert ready.acquire(timeout=120), "an ingest worker did not start"
    done = multiprocessing.Value("d", 0.0)
    msgs = templates(devices, plan, total, PER_MESSAGE)
    proc = ctx.Process(target=publisher, args=(url, msgs, PER_MESSAGE, rate, done))
    go.set()
    t0 = time.time()
    proc.start()
    deadline = t0 + 600
    while sum(handled[:]) < total and time.time() < deadline:
        time.sleep(0.02)
    elapsed = time.time() - t0
    stop.set()
    proc.join()
    parts = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join()
    accepted = sum(p["accepted"] for p in parts)
    lat = sorted(x for p in parts for x in p["latencies"])
    cases = sorted(x for p in parts for x in p["case_latencies"])

    def pct(xs, q):
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 4) if xs else None

    return {"processes": processes, "readings": accepted, "stored": sum(p["stored"] for p in parts),
            "rejected": sum(p["rejected"] for p in parts), "seconds": round(elapsed, 3),
            "readings_per_s": round(accepted / elapsed, 1), "stored_p50_s": pct(lat, 0.5),
            "stored_p99_s": pct(lat, 0.99), "cases": len(cases), "case_p50_s": pct(cases, 0.5),
            "case_p99_s": pct(cases, 0.99), "batches": sum(p["batches"] for p in parts),
            "ingest_cpu_us_per_reading": round(sum(p["cpu"] for p in parts) / max(1, accepted) * 1e6, 2)}


def rules_only(db_url: str, settings: Settings, devices, plan, n: int = 200_000) -> dict:
    """Readings/s on one core through validation + rules (no I/O), and rules alone."""
    from cityloop.sensors.readings import check

    engine = make_engine(db_url)
    ing = Ingestor(make_session_factory(engine), settings, SystemClock())
    with ing.factory() as session:
        ing._load(session, time.monotonic())
    rng = random.Random(9)
    now = time.time() - 3600
    raw = []
    for i in range(n):
        code, kind = devices[i % len(devices)]
        raw.append({"device_id": code, "ts": now + i * 0.01, "values": simulate.values(code, kind, plan, i / n, rng)})
    t = time.perf_counter()
    checked = [check(r, ing.refs, now + n, 300, 86400 * 90) for r in raw]
    t_check = time.perf_counter() - t
    readings = [r for r in checked if isinstance(r, Reading)]
    t = time.perf_counter()
    ing._evaluate(readings, [])
    t_rules = time.perf_counter() - t
    engine.dispose()
    return {"validate_per_s": round(n / t_check), "rules_per_s": round(len(readings) / t_rules),
            "validate_and_rules_per_s": round(n / (t_check + t_rules))}


def main() -> None:
    db_url = os.environ.get("CITYLOOP_BENCH_DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/sensor_bench.db"
    settings = Settings(database_url=db_url, demo=True, sensor_tenant=TENANT, sensor_flush_ms=20)
    devices = setup(db_url, settings)
    load = os.getloadavg()
    plan = simulate.plan(devices, "rainstorm", seed=7)
    with LocalBroker() as url:
        base = baseline(url, devices, plan)
        one = end_to_end(url, db_url, settings, devices, plan, READINGS, 0, 1)
        # Other devices flood in each later run, so each opens cases of its own.
        full = end_to_end(url, db_url, settings, devices, simulate.plan(devices, "rainstorm", seed=6), READINGS, 0,
                          PROCESSES)
        paced = [{"offered_per_s": rate, **end_to_end(url, db_url, settings, devices,
                                                      simulate.plan(devices, "rainstorm", seed=8 + i),
                                                      int(rate * PACED_SECONDS), rate, PROCESSES)}
                 for i, rate in enumerate((PACED_RATE // 2, PACED_RATE))]
    rules = rules_only(db_url, settings, devices, plan)
    params = {"devices": len(devices), "readings_per_message": PER_MESSAGE, "readings": READINGS,
              "ingest_processes": PROCESSES, "unpaced": full, "unpaced_one_process": one, "paced": paced, "rules_one_core": rules,
              "p99_reading_to_case_s": paced[-1]["case_p99_s"], "p99_reading_to_stored_s": paced[-1]["stored_p99_s"],
              "broker": "mosquitto (private, 127.0.0.1)", "qos": 0,
              "note": "2 shared cores: provisional; publisher, broker and ingestor on the same machine",
              "flooded": len(plan.flooded), "covers_opened": len(plan.opened),
              "load_before": load, "load_after": os.getloadavg()}
    write_result("sensor_ingest", "readings/s", full["readings_per_s"], True, "mosquitto raw publish→receive, "
                 "paho subscriber doing nothing (readings/s)", base, params,
                 make_engine(db_url).dialect.name)


if __name__ == "__main__":
    main()
