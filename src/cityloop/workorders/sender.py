"""Posts the outbox to the 12345 platform: per 工单 in order, each message until it is acknowledged, with backoff.

A message is marked sent in its own commit right after the platform acknowledged it; should the process die in
between, the resend carries the same Idempotency-Key (message_id), so the platform can tell it apart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.workorders import domain
from cityloop.workorders.models import WorkOrderMessage

BATCH = 200


def http_post(settings: Settings, client: httpx.Client | None = None) -> Callable[[WorkOrderMessage], str | None]:
    """A poster for the configured platform (through `client` when given, keeping the connection): None when
    acknowledged (2xx, or 409 = already had it), else why not."""
    secret = settings.workorder_secret.get_secret_value() if settings.workorder_secret else ""
    send = client.post if client is not None else httpx.post

    def post(msg: WorkOrderMessage) -> str | None:
        body = json.dumps(msg.body, ensure_ascii=False, sort_keys=True).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": msg.dedupe_key,
                   "X-CityLoop-Timestamp": stamp, "X-CityLoop-Signature": domain.sign(secret, stamp, body)}
        try:
            r = send(settings.workorder_platform_url, content=body, headers=headers,
                     timeout=settings.workorder_timeout_seconds)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if r.is_success or r.status_code == 409:
            return None
        return f"HTTP {r.status_code}: {r.text[:400]}"

    return post


def send_due(session: Session, settings: Settings, now: datetime, post: Callable[[WorkOrderMessage], str | None]) -> int:
    """Post the messages that are due, oldest first; a 工单 whose message failed waits with its later ones.
    Returns how many were acknowledged. Commits after each message."""
    rows = session.scalars(select(WorkOrderMessage).where(WorkOrderMessage.sent_at.is_(None))
                           .order_by(WorkOrderMessage.id).limit(BATCH)).all()
    held: set[int] = set()
    sent = 0
    for msg in rows:
        if msg.workorder_id in held:
            continue
        if msg.next_attempt_at > now:
            held.add(msg.workorder_id)
            continue
        error = post(msg)
        if error is None:
            msg.sent_at, msg.last_error = now, None
            sent += 1
        else:
            msg.attempts += 1
            msg.last_error = error
            msg.next_attempt_at = now + domain.backoff(msg.attempts, settings.workorder_retry_base_seconds,
                                                       settings.workorder_retry_max_seconds)
            held.add(msg.workorder_id)
        session.commit()
    return sent
