"""Exchange use cases for the router: verify a signed request, receive a batch (one commit), note refusals."""

from __future__ import annotations

from typing import Any

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cityloop.exchange.domain import fresh, signature_ok
from cityloop.exchange.receiver import apply_batch, link_of, pending_assignments
from cityloop.exchange.schemas import BatchIn
from cityloop.shared.errors import AppError, Conflict, Forbidden, Unauthorized
from cityloop.config import Settings


def verify(settings: Settings, platform: str | None, timestamp: str | None, signature: str | None, body: bytes,
           now: datetime) -> str:
    """The signing platform's code, or a 401/403 naming what is wrong."""
    if not platform or not timestamp or not signature:
        raise Unauthorized("signature-required", "缺少签名头 X-Exchange-Platform/-Timestamp/-Signature",
                           "Missing the X-Exchange-Platform, -Timestamp and -Signature headers")
    key = settings.exchange_downstream.get(platform)
    if key is None:
        raise Forbidden("unknown-platform", f"未对接的平台：{platform[:32]}", f"Unknown platform {platform[:32]}")
    try:
        ts = int(timestamp)
    except ValueError:
        raise Unauthorized("bad-timestamp", "签名时间戳应为 Unix 秒", "The timestamp must be Unix seconds") from None
    if not fresh(ts, now.timestamp(), settings.exchange_max_skew_seconds):
        raise Unauthorized("stale-timestamp", "签名时间戳过期或超前（请校准时钟）",
                           "The signed timestamp is too old or ahead (check the clock)")
    if not signature_ok(key, platform, ts, body, signature):
        raise Unauthorized("bad-signature", "签名无效", "Bad signature")
    return platform


def receive(session_factory: sessionmaker[Session], platform: str, batch: BatchIn, now: datetime) -> dict[str, Any]:
    """Apply a batch in one transaction and add the pending assignments to the answer."""
    with session_factory() as session:
        try:
            answer = apply_batch(session, platform, batch, now)
            answer = {**answer, "assignments": pending_assignments(session, platform, now)}
            session.commit()
        except IntegrityError:
            session.rollback()
            raise Conflict("concurrent-batch", "同一平台的批次正在并发处理，请重试",
                           "Another batch of this platform is being applied; retry") from None
        except AppError as exc:
            session.rollback()
            note_error(session, platform, f"{exc.code}: {exc.en}", now)
            raise
    return answer


def note_error(session: Session, platform: str, error: str, now: datetime) -> None:
    """Count a refused batch on the platform's link (its own small transaction)."""
    link = link_of(session, platform)
    link.errors += 1
    link.last_error, link.last_error_at = error[:500], now
    session.commit()
