"""Login throttling in the database: every attempt is counted atomically BEFORE the slow password check, per client
IP, per account name and per (account, IP), so parallel guesses, several workers and several hosts share one count.

Unknown names are counted exactly like real accounts, so throttling tells nothing about which names exist. A counted
attempt that turns out right is refunded; a wrong one stays counted until its streak goes quiet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import CursorResult, TextClause, delete, func, select, text
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.org.domain import backoff_seconds, backoff_steps
from cityloop.org.models import LoginThrottle
from cityloop.shared.errors import TooManyRequests


@dataclass(frozen=True)
class Counter:
    key: str
    username: str | None
    free: int  # attempts allowed back to back before the progressive delay starts


def counters(settings: Settings, username: str, ip: str) -> list[Counter]:
    """The three counters one attempt goes to, always in this order (so concurrent attempts never deadlock)."""
    name = username[:64]
    return [Counter(f"ip:{ip}"[:160], None, settings.login_ip_max_failures),
            Counter(f"user:{name}", name, settings.login_account_max_failures),
            Counter(f"pair:{ip}|{name}"[:160], name, settings.login_max_failures)]


@lru_cache(maxsize=16)
def _reserve_sql(free: int, first: int, cap: int) -> TextClause:
    # One statement counts the attempt and sets the delay that the new count earns, but only where no delay is
    # running: a refused attempt changes nothing, so hammering never lengthens the wait.
    n = "(CASE WHEN login_throttle.last_at <= :stale THEN 1 ELSE login_throttle.count + 1 END)"
    steps = backoff_steps(free, first, cap)
    whens = " ".join(f"WHEN {n} = {int(a)} THEN :now + {int(d)}" for a, d in steps[:-1])
    blocked = f"CASE WHEN {n} < {int(free)} THEN NULL {whens} ELSE :now + {int(cap)} END"
    return text("INSERT INTO login_throttle (key, username, count, last_at, blocked_until) "
                "VALUES (:k, :u, 1, :now, :first_block) "
                f"ON CONFLICT (key) DO UPDATE SET count = {n}, last_at = :now, blocked_until = {blocked} "
                "WHERE login_throttle.blocked_until IS NULL OR login_throttle.blocked_until <= :now "
                "RETURNING count")


_REFUND = text("UPDATE login_throttle SET count = count - 1, "
               "blocked_until = CASE WHEN count - 1 < :free THEN NULL ELSE blocked_until END "
               "WHERE key = :k AND count > 0")


def reserve(session: Session, settings: Settings, username: str, ip: str, now: datetime) -> None:
    """Count one login attempt on every counter and commit, or roll back and refuse (429) if any is delayed."""
    first, cap = settings.login_delay_seconds, settings.login_lock_minutes * 60
    at = int(now.timestamp())
    params = {"now": at, "stale": at - settings.login_window_minutes * 60}
    for c in counters(settings, username, ip):
        delay = backoff_seconds(1, c.free, first, cap)
        row = session.execute(_reserve_sql(c.free, first, cap),
                              {**params, "k": c.key, "u": c.username, "first_block": at + delay if delay else None})
        if row.first() is None:
            session.rollback()
            raise TooManyRequests("login-throttled", "登录尝试过于频繁，请稍后再试",
                                  "Too many login attempts; try again later")
    session.commit()


def succeeded(session: Session, settings: Settings, username: str, ip: str) -> None:
    """A right password: forget this account's streak from this IP and refund the attempt elsewhere (committed)."""
    ip_counter, account, pair = counters(settings, username, ip)
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == pair.key))
    for c in (ip_counter, account):
        session.execute(_REFUND, {"k": c.key, "free": c.free})
    session.commit()


def unlock(session: Session, username: str) -> None:
    """An admin's unlock: clear every delay and streak on this account name, from all IPs (not committed)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.username == username))


def locked_names(session: Session, now: datetime) -> set[str]:
    """Account names with a delay running (from any IP)."""
    return set(session.scalars(select(LoginThrottle.username).distinct().where(
        LoginThrottle.username.is_not(None), LoginThrottle.blocked_until > int(now.timestamp()))))


def purge(session: Session, settings: Settings, now: datetime) -> int:
    """Forget counters that went quiet a whole window ago and have no delay running (not committed)."""
    at = int(now.timestamp())
    result = session.execute(delete(LoginThrottle).where(
        LoginThrottle.last_at <= at - settings.login_window_minutes * 60,
        func.coalesce(LoginThrottle.blocked_until, 0) <= at))
    assert isinstance(result, CursorResult)  # a DELETE's result: it has a row count
    return result.rowcount
