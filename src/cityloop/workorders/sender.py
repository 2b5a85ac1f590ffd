"""Posts the outbox to the 12345 platform: per 工单 in order, each message until it is acknowledged, with backoff.

A message is marked sent in its own commit right after the platform acknowledged it; should the process die in
between, the resend carries the same Idempotency-Key (message_id), so the platform can tell it apart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import httpx
from sqlalchemy import func, select
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
        url = settings.workorder_platform_url
        if url is None:  # (callers post only when a platform is configured)
            raise ValueError("no 12345 platform URL is set (CITYLOOP_WORKORDER_PLATFORM_URL)")
        try:
            r = send(url, content=body, headers=headers,
                     timeout=settings.workorder_timeout_seconds)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        if r.is_success or r.status_code == 409:
            return None
        return f"HTTP {r.status_code}: {r.text[:400]}"

    return post


def _due_heads(session: Session, now: datetime) -> Sequence[WorkOrderMessage]:
    """Each 工单's oldest unsent message, where that one is due: only a head may go, so order holds per 工单, and
    one 工单 waiting out a backoff holds back nobody else."""
    heads = (select(func.min(WorkOrderMessage.id)).where(WorkOrderMessage.sent_at.is_(None))
             .group_by(WorkOrderMessage.workorder_id))
    return session.scalars(select(WorkOrderMessage).where(WorkOrderMessage.id.in_(heads),
                                                          WorkOrderMessage.next_attempt_at <= now)
                           .order_by(WorkOrderMessage.id).limit(BATCH)).all()


def send_due(session: Session, settings: Settings, now: datetime, post: Callable[[WorkOrderMessage], str | None],
             max_rounds: int = 100) -> int:
    """Post the messages that are due, oldest first per 工单; a failed one waits (backoff) with its 工单's later ones.
    Returns how many were acknowledged. Commits after each message."""
    sent = 0
    for _ in range(max_rounds):
        progressed = False
        for msg in _due_heads(session, now):
            error = post(msg)
            if error is None:
                msg.sent_at, msg.last_error = now, None
                sent += 1
                progressed = True
            else:
                msg.attempts += 1
                msg.last_error = error
                msg.next_attempt_at = now + domain.backoff(msg.attempts, settings.workorder_retry_base_seconds,
                                                           settings.workorder_retry_max_seconds)
            session.commit()
        if not progressed:
            break
    return sent
