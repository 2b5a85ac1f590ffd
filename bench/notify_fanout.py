"""notify_fanout: notification events → messages delivered per second to a local SMS gateway, and the p99 delay
from event (outbox row written) to the gateway's answer.

Setup: a fresh SQLite file per mode, one department with USERS users subscribed to SMS;
EVENTS "dispatched" events are published through cityloop.notify.service.publish (each fans out to every user);
the delivery worker (cityloop.notify.worker.Worker, 16 threads) sends them to a uvicorn gateway in another process.
Measured twice: one request per message, and the gateway's batch form (SMS_BATCH messages per request, as bulk SMS
APIs take them). Latency phase: events paced at PACED_RATE messages/s for PACED_SECONDS while the worker runs.
Baseline (same run, same gateway, same client and threads): raw POSTs of the same messages, no database."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from cityloop.config import Settings  # noqa: E402
from cityloop.db import make_engine, make_session_factory  # noqa: E402

USERS = int(os.environ.get("NOTIFY_BENCH_USERS", 50))
EVENTS = int(os.environ.get("NOTIFY_BENCH_EVENTS", 200))
SMS_BATCH = int(os.environ.get("NOTIFY_BENCH_SMS_BATCH", 100))
PACED_RATE = int(os.environ.get("NOTIFY_BENCH_PACED_RATE", 500))
PACED_SECONDS = float(os.environ.get("NOTIFY_BENCH_PACED_SECONDS", 10))
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gateway(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "_notify_gateway:app", "--port", str(port),
                             "--log-level", "error", "--no-access-log"], cwd=HERE)
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("gateway did not start")


def setup(factory) -> int:
    from cityloop.notify.models import Subscription
    from cityloop.org.models import Department, User, UserRole

    now = datetime.now(timezone.utc)
    with factory() as s:
        dept = Department(code="bench", name="压测部门", group="class1")
        s.add(dept)
        s.flush()
        for i in range(USERS):
            s.add(User(username=f"bench{i}", display_name=f"bench{i}", password_hash="x", department_id=dept.id,
                       phone=f"139{i:08d}", created_at=now, roles=[UserRole(role="department")]))
        s.add(Subscription(role="department", event_kind="*", channel="sms", active=True, created_at=now))
        s.commit()
        return dept.id


def publish(factory, dept: int, first: int, count: int, prefix: str = "bench") -> None:
    from cityloop.notify.service import Recipients, publish as pub

    with factory() as s:
        for n in range(first, first + count):
            pub(s, "dispatched", {"case_number": f"B{n:08d}", "category": "暴露垃圾", "address": "北门路",
                                  "department": "压测部门", "due_at": "11-23 13:00"},
                Recipients(departments=[dept]), event_key=f"{prefix}:{n}")
        s.commit()


def drain(worker, factory, total: int) -> float:
    from sqlalchemy import func, select

    from cityloop.notify.models import OutboxMessage

    started = time.perf_counter()
    while True:
        if worker.run_once() == 0:
            with factory() as s:
                if s.scalar(select(func.count()).where(OutboxMessage.status == "sent")) >= total:
                    return time.perf_counter() - started
            time.sleep(0.01)


def delays(factory, prefix: str) -> list[float]:
    from sqlalchemy import select

    from cityloop.notify.models import OutboxMessage

    with factory() as s:
        rows = s.execute(select(OutboxMessage.created_at, OutboxMessage.sent_at)
                         .where(OutboxMessage.dedupe_key.like(f"{prefix}%"))).all()
    return sorted((b - a).total_seconds() for a, b in rows)


def pct(values: list[float], p: float) -> float:
    return round(values[min(len(values) - 1, int(len(values) * p))], 4) if values else 0.0


def run_mode(url: str, port: int, batch: int) -> dict:
    from cityloop.db.migrate import upgrade
    from cityloop.notify.worker import Worker

    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    settings = Settings(database_url=url, demo=True, notify_sms_url=f"http://127.0.0.1:{port}/sms",
                        notify_sms_batch=batch, notify_batch=2000 if batch > 1 else 500, notify_rate_per_minute=0)
    dept = setup(factory)
    worker = Worker(factory, settings)
    t0 = time.perf_counter()
    publish(factory, dept, 0, EVENTS)
    publish_s = time.perf_counter() - t0
    total = EVENTS * USERS
    seconds = drain(worker, factory, total)
    # Latency: a producer publishes paced events while the worker keeps running.
    per_event_s = max(1.0, PACED_RATE / USERS)
    produced = [0]

    def produce():  # one event per transaction, as case actions write them, evenly spaced
        n, start = EVENTS, time.monotonic()
        while time.monotonic() - start < PACED_SECONDS:
            publish(factory, dept, n, 1, "paced")
            n += 1
            produced[0] += 1
            time.sleep(max(0.0, start + (n - EVENTS) / per_event_s - time.monotonic()))

    producer = threading.Thread(target=produce)
    producer.start()
    while producer.is_alive():
        if worker.run_once() == 0:
            time.sleep(0.02)
    producer.join()
    drain(worker, factory, total + produced[0] * USERS)
    worker.close()
    paced = delays(factory, "paced:")
    engine.dispose()
    return {"messages": total, "seconds": round(seconds, 3), "messages_per_s": round(total / seconds, 1),
            "publish_events_per_s": round(EVENTS / publish_s, 1), "sms_batch": batch,
            "event_to_send_p50_s": pct(paced, 0.5), "event_to_send_p99_s": pct(paced, 0.99),
            "paced_offered_messages_per_s": round(per_event_s * USERS),
            "paced_published_messages": produced[0] * USERS}


def baseline(port: int, batch: int) -> float:
    total = EVENTS * USERS
    client = httpx.Client(limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))
    items = [{"message_id": f"raw-{batch}-{i}", "phone": f"139{i % USERS:08d}", "sign_name": "数字城管",
              "template_code": None, "params": {"case_number": f"B{i}"}, "text": "案件已派遣"} for i in range(total)]
    bodies = [items[i] for i in range(total)] if batch == 1 else \
        [{"messages": items[i:i + batch]} for i in range(0, total, batch)]
    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda b: client.post(f"http://127.0.0.1:{port}/sms", json=b).raise_for_status(), bodies))
    client.close()
    return total / (time.perf_counter() - started)


def main() -> None:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for batch in (1, SMS_BATCH):
            port = free_port()
            proc = gateway(port)  # a fresh gateway per mode: its counts are this mode's
            try:
                url = f"sqlite:///{tmp}/notify{batch}.db"
                out[batch] = {"notify": run_mode(url, port, batch), "raw_posts_per_s": round(baseline(port, batch), 1)}
                out[batch]["gateway"] = httpx.get(f"http://127.0.0.1:{port}/stats").json()
            finally:
                proc.terminate()
                proc.wait()
    best = out[SMS_BATCH]
    write_result("notify_fanout", "messages/s", best["notify"]["messages_per_s"], True,
                 f"raw POSTs to the same gateway, {SMS_BATCH} per request, no database (messages/s)",
                 best["raw_posts_per_s"],
                 {"users_per_department": USERS, "events": EVENTS, "per_message_requests": out[1],
                  "batched_requests": out[SMS_BATCH], "target": ">= 2000 messages/s, p99 <= 2 s"},
                 "sqlite")


if __name__ == "__main__":
    main()
