"""exchange_sync: case events per second from a county server's outbox into a city server's mirror, end to end
(two uvicorn servers, two SQLite databases, real HTTP, signed batches of 500), and the lag p50/p99 when the
county produces 500 events/s. The servers' CPU seconds during the backlog are recorded too (events per CPU
second do not depend on how loaded the shared machine is).

Baseline, same run, same city server: the same 500-event batch body POSTed with a wrong signature — read, hashed
and refused before any database work — i.e. what the local HTTP round trip of the payload alone allows.
BENCH_EVENTS, BENCH_LAG_SECONDS and BENCH_BATCH (the county's batch size) change the run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.db import make_engine, make_session_factory  # noqa: E402
from cityloop.exchange.models import MirrorEvent, OutboxRow  # noqa: E402
from cityloop.db.migrate import upgrade  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "30000"))
RATE = 500  # events/s for the lag phase
LAG_SECONDS = int(os.environ.get("BENCH_LAG_SECONDS", "20"))
BATCH = int(os.environ.get("BENCH_BATCH", "500"))  # CITYLOOP_EXCHANGE_BATCH_SIZE of the county
KEY = "bench-exchange-key-0123456789abcdef"
SECRET = "bench-secret-key-of-at-least-32-bytes!!"
PLATFORM = "341122"
ACTIONS = [("report", "reported"), ("accept", "accepted"), ("file", "filed"), ("dispatch", "dispatched"),
           ("handle", "handled"), ("check_ok", "checked"), ("close", "closed")]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(url: str, port: int, tmp: Path, **env: str) -> subprocess.Popen:
    full = {**os.environ, "CITYLOOP_DATABASE_URL": url, "CITYLOOP_SECRET_KEY": SECRET,
            "CITYLOOP_MEDIA_DIR": str(tmp / f"media{port}"), "CITYLOOP_SCHEDULER_IN_SERVER": "true", **env}
    full.pop("CITYLOOP_DEMO", None)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "cityloop.app:create_app", "--factory", "--port",
                             str(port), "--log-level", "error"], env=full, start_new_session=True)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def rows(first_case: int, n: int, now: datetime) -> list[dict]:
    """n outbox rows: cases of seven events each, as the county's case hook writes them."""
    out = []
    for i in range(n):
        case_id, k = first_case + i // len(ACTIONS), i % len(ACTIONS)
        action, stage = ACTIONS[k]
        seq = k + 1
        body = {"v": "1", "kind": "case.event", "event_id": f"{PLATFORM}:c{case_id}:{seq}", "seq": seq,
                "prev_seq": seq - 1 or None, "action": action, "actor_role": "operator", "at": now.isoformat(),
                "from_stage": ACTIONS[k - 1][1] if k else None, "to_stage": stage, "payload": {"note": "基准"},
                "case": {"id": case_id, "number": f"LA{case_id:013d}", "category_code": "06010",
                         "source": "inspector", "stage": stage, "district_code": PLATFORM, "lon": 118.43,
                         "lat": 32.45, "address": "新安镇北门社区", "created_at": now.isoformat(),
                         "description": "暴露垃圾" if seq == 1 else None}}
        out.append({"event_id": body["event_id"], "kind": "case.event", "case_id": case_id, "case_seq": seq,
                    "body": body, "created_at": now})
    return out


def city_count(city) -> int:
    with city() as s:
        return s.scalar(select(func.count()).select_from(MirrorEvent))


def wait_count(city, n: int, limit: float = 600) -> float:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if city_count(city) >= n:
            return time.monotonic()
        time.sleep(0.05)
    raise RuntimeError(f"city holds {city_count(city)} of {n}")


def cpu_seconds(proc: subprocess.Popen) -> float:
    """User + system CPU time a server process has used (Linux /proc), so a loaded machine can be told apart."""
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def baseline(port: int, body: bytes, seconds: float = 5.0) -> float:
    """Events/s that round trips of the same body allow when refused at once (bad signature)."""
    headers = {"content-type": "application/json", "x-exchange-platform": PLATFORM,
               "x-exchange-timestamp": str(int(time.time())), "x-exchange-signature": "0" * 64}
    n, t0 = 0, time.monotonic()
    with httpx.Client() as client:
        while time.monotonic() - t0 < seconds:
            assert client.post(f"http://127.0.0.1:{port}/api/v1/exchange/batches", content=body,
                               headers=headers).status_code == 401
            n += 1
    return n * 500 / (time.monotonic() - t0)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cityloop-exchange-bench-"))
    county_url, city_url = f"sqlite:///{tmp / 'county.db'}", f"sqlite:///{tmp / 'city.db'}"
    upgrade(county_url)
    upgrade(city_url)
    city_port, county_port = free_port(), free_port()
    procs = []
    try:
        procs.append(start(city_url, city_port, tmp, CITYLOOP_EXCHANGE_DOWNSTREAM=json.dumps({PLATFORM: KEY})))
        procs.append(start(county_url, county_port, tmp, CITYLOOP_EXCHANGE_KEY=KEY,
                           CITYLOOP_EXCHANGE_UPSTREAM_URL=f"http://127.0.0.1:{city_port}/api/v1/exchange/batches",
                           CITYLOOP_EXCHANGE_INTERVAL_SECONDS="0.1", CITYLOOP_EXCHANGE_BATCH_SIZE=str(BATCH)))
        county = make_session_factory(make_engine(county_url))
        city = make_session_factory(make_engine(city_url))
        now = datetime.now(timezone.utc)
        sample = json.dumps({"platform": PLATFORM, "batch_id": "1-500", "first_id": 1, "last_id": 500,
                             "sent_at": now.isoformat(), "events": [r["body"] for r in rows(1, 500, now)]}).encode()
        base = baseline(city_port, sample)

        # Throughput: a backlog of EVENTS appears in the outbox at once; time until the city holds them all.
        with county() as s:
            s.execute(insert(OutboxRow), rows(1, EVENTS, now))
            s.commit()
        cpu0 = [cpu_seconds(p) for p in procs]
        t0 = time.monotonic()
        t1 = wait_count(city, EVENTS)
        throughput = EVENTS / (t1 - t0)
        city_cpu, county_cpu = (cpu_seconds(p) - c for p, c in zip(procs, cpu0))

        # Lag: 500 events/s written the way case transactions write them (50 every 0.1 s).
        first_case, done = EVENTS // len(ACTIONS) + 10, EVENTS
        t_start = time.monotonic()
        for tick in range(LAG_SECONDS * 10):
            with county() as s:
                s.execute(insert(OutboxRow), rows(first_case + tick * 50, 50, datetime.now(timezone.utc)))
                s.commit()
            time.sleep(max(0.0, t_start + (tick + 1) * 0.1 - time.monotonic()))
        wait_count(city, done + LAG_SECONDS * RATE)
        with city() as s:
            lags = sorted((e.received_at - datetime.fromisoformat(e.body["created_at"])).total_seconds()
                          for e in s.scalars(select(MirrorEvent).where(MirrorEvent.id > done)))
        p50, p99 = lags[len(lags) // 2], lags[int(len(lags) * 0.99) - 1]
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    write_result("exchange_sync", "events/s", throughput, True, "refused_batch_round_trip_events_per_s", base,
                 {"events": EVENTS, "batch_size": BATCH, "seconds": round(t1 - t0, 2),
                  "lag_rate_events_per_s": RATE, "lag_events": len(lags), "lag_p50_s": round(p50, 3),
                  "lag_p99_s": round(p99, 3), "lag_max_s": round(lags[-1], 3),
                  "city_cpu_s": round(city_cpu, 2), "county_cpu_s": round(county_cpu, 2),
                  "events_per_city_cpu_s": round(EVENTS / max(city_cpu, 1e-9)),
                  "events_per_cpu_s_both": round(EVENTS / max(city_cpu + county_cpu, 1e-9)),
                  "load_average_1m": round(os.getloadavg()[0], 1),
                  "servers": "county + city, 1 uvicorn worker each, same machine"}, "sqlite")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
