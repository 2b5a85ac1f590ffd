"""County side: ship the outbox upward in order, signed, one batch at a time; back off on failure; take the
assignments the answer carries. State lives in the database, so a restart resumes where the last ack left off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import logging
import random
from datetime import datetime, timedelta

import httpx
from sqlalchemy import CursorResult, Text, cast, select, update
from sqlalchemy.orm import Session

from cityloop.cases.api import CasePhoto
from cityloop.exchange import downlink
from cityloop.exchange.downlink import Locate
from cityloop.exchange.adapters import Adapter, CityLoop, Photos, adapter_for
from cityloop.exchange.case_hooks import platform_code
from cityloop.exchange.domain import backoff_seconds, sign
from cityloop.exchange.models import OutboxRow, Uplink
from cityloop.config import Settings
from cityloop.sla.domain import WorkCalendar

if TYPE_CHECKING:
    from cityloop.exchange.adapters import OutboxLine

log = logging.getLogger("cityloop.exchange")


def uplink(session: Session) -> Uplink:
    """The single uplink state row."""
    row = session.get(Uplink, 1)
    if row is None:
        row = Uplink(id=1, attempts=0, errors=0, sent_events=0)
        session.add(row)
        session.flush()
    return row


def photos_of(session: Session, rows: Sequence[OutboxLine]) -> Photos:
    """Photos' hashes by (case id, event seq) for the case events among rows."""
    photos: Photos = {}
    cases = {r.case_id for r in rows if r.case_id is not None}
    if cases:
        for p in session.execute(select(CasePhoto.case_id, CasePhoto.event_seq, CasePhoto.sha256,
                                        CasePhoto.content_type).where(CasePhoto.case_id.in_(cases))):
            photos.setdefault((p.case_id, p.event_seq), []).append({"sha256": p.sha256,
                                                                   "content_type": p.content_type})
    return photos


def build_batch(session: Session, platform: str, rows: Sequence[OutboxLine], now: datetime,
                adapter: Adapter | None = None) -> bytes:
    """The batch body for the upstream: rows in outbox order, result events with their photos' hashes."""
    return (adapter or CityLoop()).encode(platform, rows, photos_of(session, rows), now)


def signed_headers(settings: Settings, body: bytes, now: datetime) -> dict[str, str]:
    """Content type and the three signature headers."""
    platform, ts = platform_code(settings), int(now.timestamp())
    key = settings.exchange_key.get_secret_value() if settings.exchange_key else ""
    return {"content-type": "application/json", "x-exchange-platform": platform, "x-exchange-timestamp": str(ts),
            "x-exchange-signature": sign(key, platform, ts, body)}


def send_once(session: Session, settings: Settings, now: datetime, client: httpx.Client,
              locate: Locate | None = None, cal: WorkCalendar | None = None) -> int:
    """One round: send the next batch (or a heartbeat) unless backing off; returns events acked (−1: failed or
    waiting). Commits its own state."""
    state = uplink(session)
    if state.next_try_at is not None and now < state.next_try_at:
        session.commit()
        return -1
    rows = session.execute(select(OutboxRow.id, OutboxRow.case_id, OutboxRow.case_seq,
                                  cast(OutboxRow.body, Text).label("raw"), OutboxRow.created_at)
                           .where(OutboxRow.acked_at.is_(None)).order_by(OutboxRow.id)
                           .limit(settings.exchange_batch_size)).all()
    adapter = adapter_for(settings)
    body = build_batch(session, platform_code(settings), rows, now, adapter)
    first, last = (rows[0].id, rows[-1].id) if rows else (0, 0)
    url = settings.exchange_upstream_url
    if not url:
        raise ValueError("no upper platform configured (CITYLOOP_EXCHANGE_UPSTREAM_URL)")
    try:
        try:
            response = client.post(url, content=body,
                                   headers=signed_headers(settings, body, now),
                                   timeout=settings.exchange_timeout_seconds)
        except (httpx.RemoteProtocolError, httpx.ReadError):  # a kept-alive connection the server had closed: again
            response = client.post(url, content=body,
                                   headers=signed_headers(settings, body, now),
                                   timeout=settings.exchange_timeout_seconds)
    except httpx.HTTPError as exc:
        return _failed(session, settings, state, now, f"{type(exc).__name__}: {exc}")
    answer = adapter.interpret(response)
    if answer.stale_through is not None:
        # The upper platform already holds everything through acked_through (our ack was lost).
        _ack(session, answer.stale_through, "stale", now)
        state.attempts, state.next_try_at = 0, None
        session.commit()
        return 0
    if not answer.ok:
        return _failed(session, settings, state, now, answer.error)
    acked = _ack(session, last, f"{first}-{last}", now) if rows else 0
    state.attempts, state.next_try_at, state.last_ok_at = 0, None, now
    state.sent_events += acked
    session.commit()
    if answer.assignments and locate is not None and cal is not None:
        downlink.take_all(session, settings, now, answer.assignments, locate, cal)
    return acked


def _ack(session: Session, through: int, batch_id: str, now: datetime) -> int:
    result = session.execute(update(OutboxRow).where(OutboxRow.acked_at.is_(None), OutboxRow.id <= through)
                             .values(acked_at=now, batch_id=batch_id).execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)  # an UPDATE's result: it has a row count
    return result.rowcount or 0


def _failed(session: Session, settings: Settings, state: Uplink, now: datetime, error: str) -> int:
    state.attempts += 1
    state.errors += 1
    state.last_error, state.last_error_at = error[:500], now
    wait = backoff_seconds(state.attempts, random.random(), settings.exchange_backoff_max_seconds)
    state.next_try_at = now + timedelta(seconds=wait)
    session.commit()
    log.warning("exchange upload failed (attempt %s, next in %.1f s): %s", state.attempts, wait, error)
    return -1
