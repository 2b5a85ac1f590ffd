"""The delivery worker: claim due outbox rows, send them, log every attempt, retry with backoff, park after N.

A claim marks rows 'sending' with a lease and commits before anything is sent (FOR UPDATE SKIP LOCKED on
PostgreSQL, so several workers share the outbox; on SQLite one worker holds a file lock). A worker killed after
the channel accepted a message but before it recorded that leaves the row 'sending'; when the lease runs out the
row is sent again with the same message id (cl-<outbox id>). An SMS gateway that deduplicates on it (as providers'
out-id / idempotency fields do) delivers it once; group robots and SMTP have no such id, so for them this window —
between the channel's answer and one commit, milliseconds — is the only place a duplicate can come from."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import httpx
from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cityloop.config import Settings
from cityloop.notify import channels, domain
from cityloop.notify.channels import Message
from cityloop.notify.models import Delivery, OutboxMessage

log = logging.getLogger("cityloop.notify")
FIELDS = ("id", "event_kind", "channel", "address", "secret", "title", "body", "params", "provider_code",
          "attempts")
OUTBOX = cast(Table, OutboxMessage.__table__)
DELIVERIES = cast(Table, Delivery.__table__)
# (message, the channel's answer, the error, milliseconds) of one send
Result = tuple[Message, str | None, str | None, int]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def claim(session: Session, settings: Settings, now: datetime) -> list[Message]:
    """Take up to notify_batch due rows (pending, or 'sending' with an expired lease) and commit the claim."""
    t = OUTBOX
    stmt = (select(*[t.c[f] for f in FIELDS])
            .where(t.c.status.in_(("pending", "sending")), t.c.not_before <= now,
                   or_(t.c.status == "pending", t.c.lease_until < now))
            .order_by(t.c.not_before, t.c.id).limit(settings.notify_batch))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    out = [dict(row._mapping) for row in session.execute(stmt)]
    if out:
        session.execute(update(t).where(t.c.id.in_([m["id"] for m in out]))
                        .values(status="sending", attempts=t.c.attempts + 1,
                                lease_until=now + timedelta(seconds=settings.notify_lease_seconds)))
    session.commit()
    for m in out:
        m["attempts"] += 1
    return out


class Worker:
    """Sends what the outbox holds; one per process (its rate window is per process)."""

    def __init__(self, factory: sessionmaker[Session], settings: Settings,
                 senders: dict[str, channels.Sender] | None = None, threads: int = 16,
                 clock: Callable[[], datetime] = _now) -> None:
        self.factory, self.s, self.clock = factory, settings, clock
        self.client = httpx.Client(limits=httpx.Limits(max_connections=threads, max_keepalive_connections=threads))
        self.senders = senders if senders is not None else channels.senders(settings, self.client)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cityloop-notify")
        self.rate = domain.RateWindow(settings.notify_rate_per_minute, {})
        self.sent = 0

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def run_once(self) -> int:
        """One claim-send-record round; returns how many rows it handled (0: nothing due)."""
        with self.factory() as session:
            msgs = claim(session, self.s, self.clock())
        if not msgs:
            return 0
        mono = time.monotonic()
        now_rate = mono
        deferred: list[Message] = []
        due: list[Message] = []
        for m in msgs:
            (due if self.rate.allow(f"{m['channel']}:{m['address']}", now_rate) else deferred).append(m)
        results = self._send(due)
        self._record(results, deferred)
        return len(msgs)

    def _send(self, msgs: list[Message]) -> list[Result]:
        batch = self.s.notify_sms_batch
        jobs: list[list[Message]] = []
        sms = [m for m in msgs if m["channel"] == "sms"]
        if batch > 1:
            jobs += [sms[i:i + batch] for i in range(0, len(sms), batch)]
        else:
            jobs += [[m] for m in sms]
        jobs += [[m] for m in msgs if m["channel"] != "sms"]
        out: list[Result] = []
        for group in self.pool.map(self._send_group, jobs):
            out.extend(group)
        return out

    def _send_group(self, group: list[Message]) -> list[Result]:
        started = time.monotonic()
        sender = self.senders.get(group[0]["channel"])
        try:
            if sender is None:
                raise channels.SendError(f"渠道未配置 / channel {group[0]['channel']!r} not configured")
            # Only SMS messages are grouped (notify_sms_batch), and the SMS gateway takes batches.
            answer = cast(channels.BatchSender, sender).send_batch(group) if len(group) > 1 else sender.send(group[0])
            error = None
        except Exception as exc:  # noqa: BLE001 - every failure is logged, retried, then parked
            answer, error = None, (str(exc) or type(exc).__name__)[:500]
        ms = int((time.monotonic() - started) * 1000)
        return [(m, answer, error, ms) for m in group]

    def _record(self, results: list[Result], deferred: list[Message]) -> None:
        now = self.clock()
        updates: list[dict[str, Any]] = []
        log_rows: list[dict[str, Any]] = []
        for m, answer, error, ms in results:
            if error is None:
                updates.append({"id": m["id"], "status": "sent", "sent_at": now, "lease_until": None,
                                "last_error": None})
                log_rows.append(dict(message_id=m["id"], attempt=m["attempts"], at=now, status="sent",
                                     response=(answer or "")[:500], duration_ms=ms))
                self.sent += 1
                continue
            park = m["attempts"] >= self.s.notify_max_attempts
            updates.append({"id": m["id"], "status": "parked" if park else "pending", "lease_until": None,
                            "last_error": error, "not_before": now + domain.backoff(m["attempts"],
                                                                                    self.s.notify_backoff_seconds)})
            log_rows.append(dict(message_id=m["id"], attempt=m["attempts"], at=now, error=error, duration_ms=ms,
                                 status="parked" if park else "failed"))
        for m in deferred:  # over the recipient's rate: waits, the attempt does not count
            updates.append({"id": m["id"], "status": "pending", "lease_until": None, "attempts": m["attempts"] - 1,
                            "not_before": now + timedelta(seconds=60 / max(self.s.notify_rate_per_minute, 1))})
            log_rows.append(dict(message_id=m["id"], attempt=m["attempts"], at=now, status="deferred",
                                 error="超过每分钟发送上限 / recipient rate limit"))
        t = OUTBOX
        with self.factory() as session:
            for keys in {tuple(sorted(u)) for u in updates}:  # one executemany per shape of update
                same = [{f"b_{k}": v for k, v in u.items()} for u in updates if tuple(sorted(u)) == keys]
                session.execute(update(t).where(t.c.id == bindparam("b_id"))
                                .values({k: bindparam(f"b_{k}") for k in keys if k != "id"}), same)
            if log_rows:
                keys = ("message_id", "attempt", "at", "status", "error", "response", "duration_ms")
                session.execute(insert(DELIVERIES), [{k: r.get(k) for k in keys} for r in log_rows])
            session.commit()


def run(factory: sessionmaker[Session], settings: Settings, seconds: float = 0, worker: Worker | None = None,
        stop: Callable[[], bool] | None = None) -> int:
    """Deliver until `seconds` pass (0: forever) or stop() is true; returns messages sent."""
    own = worker is None
    worker = worker or Worker(factory, settings)
    end = time.monotonic() + seconds if seconds else None
    try:
        while not (stop and stop()) and (end is None or time.monotonic() < end):
            try:
                if worker.run_once() == 0:
                    time.sleep(settings.notify_interval_seconds)
            except Exception:  # noqa: BLE001 - a database hiccup: try again next round
                log.exception("notification delivery round failed")
                time.sleep(settings.notify_interval_seconds)
        return worker.sent
    finally:
        if own:
            worker.close()
