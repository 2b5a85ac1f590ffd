"""Refuse to serve a database whose logins still have the demo password outside demo mode.

Argon2 costs a fraction of a second per check, so not every user is tried: the demo builders hash `demo` once and
give every demo login that one hash, so only hashes shared by several active users (salted hashes of chosen
passwords never repeat) and the hashes of the demo's well-known login names are tried, at most MAX_HASHES of them."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cityloop.org.models import User
from cityloop.org.security import verify_password

DEMO_PASSWORDS = ("demo",)
DEMO_LOGINS = ("admin", "operator1", "operator2", "lead1", "dispatcher1", "leader1", "inspector01", "ztc01")
MAX_HASHES = 8


class DemoPasswordsLeft(RuntimeError):
    """Active users still log in with a demo password; the message says who and what to do."""


def demo_password_users(session: Session) -> list[str]:
    """Usernames of active users whose password is a known demo password (a bounded number of hash checks)."""
    shared = (select(User.password_hash).where(User.active.is_(True)).group_by(User.password_hash)
              .having(func.count(User.id) > 1))
    candidates = session.scalars(
        select(User.password_hash).where(User.active.is_(True),
                                         or_(User.password_hash.in_(shared), User.username.in_(DEMO_LOGINS)))
        .group_by(User.password_hash).order_by(func.count(User.id).desc()).limit(MAX_HASHES)).all()
    weak = [h for h in candidates if any(verify_password(p, h) for p in DEMO_PASSWORDS)]
    if not weak:
        return []
    return list(session.scalars(select(User.username).where(User.active.is_(True), User.password_hash.in_(weak))
                                .order_by(User.username)))


def refuse_demo_passwords(session: Session) -> None:
    """Raise DemoPasswordsLeft when active users still have a demo password (call outside demo mode)."""
    names = demo_password_users(session)
    if names:
        shown = ", ".join(names[:10]) + (f" … (+{len(names) - 10})" if len(names) > 10 else "")
        raise DemoPasswordsLeft(
            f"{len(names)} 个用户仍使用演示密码，非演示模式拒绝启动：{shown}。请用 `cityloop users password 用户名` "
            "修改密码（或停用这些用户），或改用新建的数据库。 / "
            f"{len(names)} active users still have the demo password, so the server refuses to start outside "
            f"demo mode: {shown}. Change them with `cityloop users password USERNAME` (or deactivate them with "
            "`cityloop users password USERNAME --deactivate`), or use a freshly built database.")
