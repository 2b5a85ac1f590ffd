"""Use cases of the org area: log in, add users, list departments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.config import Settings
from cityloop.org.domain import ROLES, lock_after_failure
from cityloop.org.models import Department, User, UserRole
from cityloop.org.security import hash_password, issue_token, verify_password
from cityloop.shared.errors import Conflict, Invalid, TooManyRequests, Unauthorized


def login(session: Session, settings: Settings, username: str, password: str, now: datetime) -> str:
    """Check the password (with lockout after repeated failures) and issue a token."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_password(password, _DUMMY_HASH)  # same cost whether or not the user exists
        raise Unauthorized("bad-credentials", "用户名或密码错误", "Wrong username or password")
    if user.locked_until and user.locked_until > now:
        raise TooManyRequests("locked", "登录失败次数过多，账号暂时锁定，请稍后再试",
                              "Too many failed logins; the account is locked for a while",
                              locked_until=user.locked_until.isoformat())
    if not verify_password(password, user.password_hash):
        user.failed_logins += 1
        user.locked_until = lock_after_failure(
            user.failed_logins, now, settings.login_max_failures, settings.login_lock_minutes)
        session.commit()
        raise Unauthorized("bad-credentials", "用户名或密码错误", "Wrong username or password")
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
        session.commit()
    return issue_token(settings.secret_key, user.id, user.username, now, settings.token_minutes)


_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000"


def add_user(session: Session, username: str, password: str, roles: list[str], now: datetime,
             display_name: str | None = None, department_code: str | None = None,
             phone: str | None = None) -> User:
    """Create a user with roles (and a department for department staff)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise Invalid("bad-role", f"未知角色：{', '.join(sorted(unknown)) or '(空)'}",
                      f"Unknown roles: {', '.join(sorted(unknown)) or '(none)'}; use {', '.join(ROLES)}")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("user-exists", f"用户 {username} 已存在", f"User {username} already exists")
    department = None
    if department_code:
        department = session.scalar(select(Department).where(Department.code == department_code))
        if department is None:
            raise Invalid("unknown-department", f"未知部门：{department_code}", f"Unknown department {department_code}")
    if "department" in roles and department is None:
        raise Invalid("department-required", "专业部门用户必须指定部门", "Department staff need a department")
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password),
                department_id=department.id if department else None, phone=phone, created_at=now,
                roles=[UserRole(role=r) for r in dict.fromkeys(roles)])
    session.add(user)
    return user


def list_departments(session: Session, group: str | None = None) -> list[Department]:
    """Active departments, optionally one peer group (class1/class2)."""
    stmt = select(Department).where(Department.active.is_(True)).order_by(Department.group, Department.code)
    if group:
        stmt = stmt.where(Department.group == group)
    return list(session.scalars(stmt))
