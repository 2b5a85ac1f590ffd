"""What every channel shares: the actor a channel reports as, the one intake path into cases (prepare, write, the
channel's own row, one commit), API keys and the fixed-window rate limiter."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from sqlalchemy import CursorResult, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import Case, ReportIn, Ctx
from cityloop.channels.domain import CHANNEL_NAMES, new_tracking_code
from cityloop.channels.models import ChannelKey, ChannelReport, RateLimit
from cityloop.config import Settings
from cityloop.org.actor import Actor
from cityloop.geo.coords import to_wgs84
from cityloop.geo.domain import Place

DEMO_KEY = "demo"
Locate = Callable[[float, float], Place | None]  # a point's unit grid (GridIndex.locate)


def channel_actor(channel: str) -> Actor:
    """The platform acting for a channel (拍一拍, Open311, video, an upper platform): system rights, a clear name."""
    return Actor(id=None, username=f"channel:{channel}", display_name=CHANNEL_NAMES[channel][0],
                 roles=frozenset({"system"}))


def report_of(session: Session, case_id: int) -> ChannelReport | None:
    """The channel record of a case, if it came through a public-facing channel."""
    return session.scalar(select(ChannelReport).where(ChannelReport.case_id == case_id))


def _free_code(session: Session) -> str:
    while True:  # 8.5e11 codes: a clash is rare, but never answered with a 500
        code = new_tracking_code()
        if session.scalar(select(ChannelReport.id).where(ChannelReport.tracking_code == code)) is None:
            return code


def stage(ctx: Ctx, body: ReportIn, locate: Locate, key: str | None, code: Callable[[], str], *, verify: bool | None,
          required_due_at: datetime | None = None, channel: dict[str, Any] | None = None,
          payload: dict[str, Any] | None = None,
          also: Callable[[Session, Case], None] | None = None) -> cases_api.Prepared | Case:
    """The checked, located report with the channel's row (its tracking code drawn by `code()`) and `also` to add
    when it is written; a replay of the Idempotency-Key returns its case. Reads ctx.reads only, if at all."""
    prepared = cases_api.prepare(ctx, body, locate, to_wgs84, key, verify=verify, required_due_at=required_due_at)
    if isinstance(prepared, Case):
        return prepared
    if payload:
        prepared.event["payload"] = {**prepared.event["payload"], **payload}
    prepared.after = _Rows(ctx.now, channel, code() if channel is not None else None, also)
    return prepared


@dataclass
class _Rows:
    """What a channel adds when its report is written (Prepared.after): its own row, `also`'s."""

    now: datetime
    channel: dict[str, Any] | None
    code: str | None
    also: Callable[[Session, Case], None] | None

    def __call__(self, session: Session, case: Case) -> ChannelReport | None:
        row = None
        if self.channel is not None:
            row = ChannelReport(case_id=case.id, tracking_code=self.code, created_at=self.now,
                                **{"attributes": {}, "category_guessed": False, **self.channel})
            session.add(row)
        if self.also is not None:
            self.also(session, case)
        return row


def submit(ctx: Ctx, body: ReportIn, locate: Locate, key: str | None, *, verify: bool | None,
           required_due_at: datetime | None = None, channel: dict[str, Any] | None = None,
           payload: dict[str, Any] | None = None,
           also: Callable[[Session, Case], None] | None = None) -> tuple[Case, bool, ChannelReport | None]:
    """Report through the core intake and, in the same transaction, record the channel's row (tracking code…)
    and whatever `also(session, case)` adds for the new case. Returns (case, created, channel row); a replay of
    the Idempotency-Key returns the first case and adds nothing.

    Every check and lookup reads ctx.reads; with ctx.committer the write joins the process's group commit (the
    write lock is held for the inserts only), else it is written and committed on ctx.session."""
    prepared = stage(ctx, body, locate, key, partial(_free_code, ctx.reads), verify=verify, required_due_at=required_due_at, channel=channel,
                     payload=payload, also=also)
    if isinstance(prepared, Case):
        return prepared, False, report_of(ctx.reads, prepared.id)
    # The committer's writer would wait for a write transaction this thread still holds: write here then.
    committer = ctx.committer if not ctx.session.in_transaction() else None
    try:
        if committer is not None:
            ctx.reads.close()  # hand its connection back while waiting: the writer may need one from the same pool
            case = committer.submit_wait(prepared)
        else:
            case = cases_api.write(ctx.session, [prepared], ctx.settings)[0]
            ctx.session.commit()
    except IntegrityError:
        ctx.session.rollback()
        replay = _replay(ctx.session, key, prepared) if committer is None else _replay_committed(committer, key,
                                                                                                 prepared)
        if replay is None:
            raise
        return replay
    row = cast(ChannelReport | None, prepared.outcome)  # what `after` returned
    if committer is not None:
        return case, True, row  # written by the committer: every column is on the detached row
    return ctx.session.get_one(Case, case.id), True, row


async def submit_staged(committer: cases_api.GroupCommitter, prepared: cases_api.Prepared, key: str | None
                        ) -> tuple[Case, bool, ChannelReport | None]:
    """submit's write for a report staged on the event loop (by stage() with code=new_tracking_code, unchecked):
    awaits the group commit rather than blocking a thread. The unique tracking code is then checked by the write
    itself: a clash (1 in 8.5e11) is written again with a fresh code, never answered with a 500."""
    retried = False
    while True:
        try:
            return await committer.submit(prepared), True, cast(ChannelReport | None, prepared.outcome)
        except IntegrityError:
            replay = await asyncio.to_thread(_replay_committed, committer, key, prepared)
            if replay is not None:
                return replay
            rows = prepared.after
            if retried or not isinstance(rows, _Rows) or rows.code is None:
                raise
            rows.code, retried = new_tracking_code(), True


def _replay_committed(committer: cases_api.GroupCommitter, key: str | None, prepared: cases_api.Prepared
                      ) -> tuple[Case, bool, ChannelReport | None] | None:
    with committer.factory() as fresh:  # the same key raced in: read what the other request committed
        return _replay(fresh, key, prepared)


def _replay(session: Session, key: str | None, prepared: cases_api.Prepared
            ) -> tuple[Case, bool, ChannelReport | None] | None:
    """The case another request created under the same Idempotency-Key, as a replay; None when there is none."""
    existing = cases_api.find_by_key(session, key, prepared.case["request_hash"]) if key else None
    return None if existing is None else (existing, False, report_of(session, existing.id))


def hash_key(raw: str) -> str:
    """How an API key is stored (keys are long random strings, so a plain SHA-256 suffices)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def key_ok(session: Session, settings: Settings, kind: str, raw: str | None) -> bool:
    """Whether an API key is valid for a kind of integration; demo mode also takes the key `demo`."""
    if not raw:
        return False
    if settings.demo and raw == DEMO_KEY:
        return True
    return session.scalar(select(ChannelKey.id).where(ChannelKey.key_hash == hash_key(raw), ChannelKey.kind == kind,
                                                      ChannelKey.active.is_(True))) is not None


def add_key(session: Session, kind: str, name: str, raw: str, now: datetime) -> ChannelKey:
    """Register an API key (only its hash is kept)."""
    row = ChannelKey(kind=kind, name=name, key_hash=hash_key(raw), active=True, created_at=now)
    session.add(row)
    return row


_HIT = text("INSERT INTO channel_rate_limits (key, window_start, count) VALUES (:k, :w, 1) "
            "ON CONFLICT (key) DO UPDATE SET count = CASE WHEN channel_rate_limits.window_start = :w "
            "THEN channel_rate_limits.count + 1 ELSE 1 END, window_start = :w RETURNING count")


def hit(session: Session, key: str, now: datetime, window_seconds: int, limit: int) -> bool:
    """Count one attempt in the current fixed window; False when the limit is exceeded. Not committed.

    A table rather than per-worker memory: with several workers an in-memory limit would multiply by their
    number, and public reports are few enough that one upsert each costs nothing."""
    start = int(now.timestamp()) // window_seconds * window_seconds
    count: int = session.execute(_HIT, {"k": key[:80], "w": start}).scalar_one()
    return count <= limit


def exhausted(session: Session, key: str, now: datetime, window_seconds: int, limit: int) -> bool:
    """Whether the current window already holds `limit` attempts (a read; nothing is counted)."""
    start = int(now.timestamp()) // window_seconds * window_seconds
    count = session.scalar(select(RateLimit.count).where(RateLimit.key == key[:80], RateLimit.window_start == start))
    return (count or 0) >= limit


def purge_limits(session: Session, now: datetime, longest_window: int = 86_400) -> int:
    """Forget counters whose window ended before the longest window began (not committed)."""
    oldest = int(now.timestamp()) - 2 * longest_window
    result = cast(CursorResult[Any], session.execute(text("DELETE FROM channel_rate_limits WHERE window_start < :w"),
                                                     {"w": oldest}))
    return result.rowcount
