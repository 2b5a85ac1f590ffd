"""County side: ship the outbox upward in order, signed, one batch at a time; back off on failure; take the
assignments the answer carries. State lives in the database, so a restart resumes where the last ack left off."""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityloop.cases.models import CasePhoto
from cityloop.exchange import downlink
from cityloop.exchange.case_hooks import platform_code
from cityloop.exchange.domain import PROTOCOL_VERSION, backoff_seconds, sign
from cityloop.exchange.models import OutboxRow, Uplink

log = logging.getLogger("cityloop.exchange")


def uplink(session: Session) -> Uplink:
    """The single uplink state row."""
    row = session.get(Uplink, 1)
    if row is None:
        row = Uplink(id=1, attempts=0, errors=0, sent_events=0)
        session.add(row)
        session.flush()
    return row


def build_batch(session: Session, platform: str, rows: list, now: datetime) -> dict:
    """The batch body: rows in outbox order, result events with their photos' hashes."""
    photos: dict[tuple[int, int], list[dict]] = {}
    cases = {r.case_id for r in rows if r.case_id is not None}
    if cases:
        for p in session.scalars(select(CasePhoto).where(CasePhoto.case_id.in_(cases))):
            photos.setdefault((p.case_id, p.event_seq), []).append({"sha256": p.sha256,
                                                                   "content_type": p.content_type})
    events = []
    for r in rows:
        body = {**r.body, "created_at": r.created_at.isoformat()}
        if r.case_id is not None:
            body["photos"] = photos.get((r.case_id, r.case_seq), [])
        events.append(body)
    first, last = (rows[0].id, rows[-1].id) if rows else (0, 0)
    return {"v": PROTOCOL_VERSION, "platform": platform, "batch_id": f"{first}-{last}", "first_id": first,
            "last_id": last, "sent_at": now.isoformat(), "events": events}


def signed_headers(settings, body: bytes, now: datetime) -> dict[str, str]:
    """Content type and the three signature headers."""
    platform, ts = platform_code(settings), int(now.timestamp())
    key = settings.exchange_key.get_secret_value() if settings.exchange_key else ""
    return {"content-type": "application/json", "x-exchange-platform": platform, "x-exchange-timestamp": str(ts),
            "x-exchange-signature": sign(key, platform, ts, body)}


def send_once(session: Session, settings, now: datetime, client: httpx.Client, locate=None, cal=None) -> int:
    """One round: send the next batch (or a heartbeat) unless backing off; returns events acked (−1: failed or
    waiting). Commits its own state."""
    state = uplink(session)
    if state.next_try_at is not None and now < state.next_try_at:
        session.commit()
        return -1
    rows = session.execute(select(OutboxRow.id, OutboxRow.case_id, OutboxRow.case_seq, OutboxRow.body,
                                  OutboxRow.created_at).where(OutboxRow.acked_at.is_(None)).order_by(OutboxRow.id)
                           .limit(settings.exchange_batch_size)).all()
    batch = build_batch(session, platform_code(settings), rows, now)
    body = json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        try:
            response = client.post(settings.exchange_upstream_url, content=body,
                                   headers=signed_headers(settings, body, now),
                                   timeout=settings.exchange_timeout_seconds)
        except httpx.RemoteProtocolError:  # a kept-alive connection the server had closed: once more, at once
            response = client.post(settings.exchange_upstream_url, content=body,
                                   headers=signed_headers(settings, body, now),
                                   timeout=settings.exchange_timeout_seconds)
    except httpx.HTTPError as exc:
        return _failed(session, settings, state, now, f"{type(exc).__name__}: {exc}")
    answer = _json(response)
    if response.status_code == 409 and answer.get("code") == "stale-batch":
        # The upper platform already holds everything through acked_through (our ack was lost).
        _ack(session, int(answer.get("acked_through") or 0), "stale", now)
        state.attempts, state.next_try_at = 0, None
        session.commit()
        return 0
    if response.status_code != 200:
        return _failed(session, settings, state, now, f"HTTP {response.status_code}: {answer.get('code', '')} "
                                                       f"{answer.get('detail', response.text[:200])}")
    acked = _ack(session, batch["last_id"], batch["batch_id"], now) if rows else 0
    state.attempts, state.next_try_at, state.last_ok_at = 0, None, now
    state.sent_events += acked
    session.commit()
    if answer.get("assignments") and locate is not None:
        downlink.take_all(session, settings, now, answer["assignments"], locate, cal)
    return acked


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _ack(session: Session, through: int, batch_id: str, now: datetime) -> int:
    result = session.execute(update(OutboxRow).where(OutboxRow.acked_at.is_(None), OutboxRow.id <= through)
                             .values(acked_at=now, batch_id=batch_id).execution_options(synchronize_session=False))
    return result.rowcount or 0


def _failed(session: Session, settings, state: Uplink, now: datetime, error: str) -> int:
    state.attempts += 1
    state.errors += 1
    state.last_error, state.last_error_at = error[:500], now
    wait = backoff_seconds(state.attempts, random.random(), settings.exchange_backoff_max_seconds)
    state.next_try_at = now + timedelta(seconds=wait)
    session.commit()
    log.warning("exchange upload failed (attempt %s, next in %.1f s): %s", state.attempts, wait, error)
    return -1
