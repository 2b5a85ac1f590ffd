"""Use cases of the org area: log in, add users, list departments."""

from __future__ import annotations

from typing import Any

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityloop.audit import service as audit
from cityloop.config import Settings
from cityloop.org import throttle
from cityloop.org.domain import ROLES
from cityloop.org.actor import Actor
from cityloop.org.models import Department, User, UserRole
from cityloop.org.schemas import UserIn
from cityloop.org.security import hash_password, issue_token, verify_password
from cityloop.shared.errors import Conflict, Invalid, NotFound, Unauthorized


def login(reads: Session, writes: Session, settings: Settings, username: str, password: str, now: datetime,
          ip: str) -> str:
    """Check the password and issue a token. The attempt is counted (per IP, account and both) before the slow
    check, so parallel guesses cannot outrun the limit; a throttled attempt is refused before any check.

    An unknown name, an inactive account and a wrong password get the same 401; a throttled attempt gets the same
    429 whether or not the name exists (unknown names are counted too)."""
    throttle.reserve(writes, settings, username, ip, now)
    user = reads.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_password(password, _DUMMY_HASH)  # same cost whether or not the user exists
        raise Unauthorized("bad-credentials", "用户名或密码错误", "Wrong username or password")
    if not verify_password(password, user.password_hash):
        raise Unauthorized("bad-credentials", "用户名或密码错误", "Wrong username or password")
    throttle.succeeded(writes, settings, username, ip)
    return issue_token(settings.secret_key, user.id, user.username, now, settings.token_minutes, user.token_version)


def revoke_tokens(session: Session, user_id: int) -> None:
    """End every token issued to this user so far, on every worker at once (not committed)."""
    session.execute(update(User).where(User.id == user_id).values(token_version=User.token_version + 1))


def logout(session: Session, user_id: int) -> None:
    """退出登录: every token issued to this user so far stops working (committed)."""
    revoke_tokens(session, user_id)
    session.commit()


_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$0000000000000000000000000000000000000000000"


def add_user(session: Session, username: str, password: str, roles: list[str], now: datetime,
             display_name: str | None = None, department_code: str | None = None,
             phone: str | None = None, district_code: str | None = None) -> User:
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
                district_code=district_code,
                roles=[UserRole(role=r) for r in dict.fromkeys(roles)])
    session.add(user)
    return user


def list_departments(session: Session, group: str | None = None) -> list[Department]:
    """Active departments, optionally one peer group (class1/class2)."""
    stmt = select(Department).where(Department.active.is_(True)).order_by(Department.group, Department.code)
    if group:
        stmt = stmt.where(Department.group == group)
    return list(session.scalars(stmt))


def user_out(user: User, locked: set[str]) -> dict[str, Any]:
    """A user as the admin pages show it (never the password hash); `locked` is throttle.locked_names."""
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "roles": sorted(user.role_names), "department_code": user.department.code if user.department else None,
            "district_code": user.district_code, "phone": user.phone, "active": user.active, "locked": user.username in locked}


def list_users(session: Session, role: str | None = None, q: str | None = None) -> list[User]:
    """Users, optionally with one role or a name containing q."""
    stmt = select(User).order_by(User.username)
    if role:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if q:
        stmt = stmt.where(User.username.contains(q) | User.display_name.contains(q))
    return list(session.scalars(stmt.limit(1000)))


def create_user(session: Session, actor: Actor, body: UserIn, now: datetime) -> User:
    """新增用户: add a user with roles (audited, committed)."""
    audit.record(session, actor, "user.add", body.username, body.model_dump(exclude={"password"}), now)
    user = add_user(session, body.username, body.password, list(body.roles), now, body.display_name,
                    body.department_code, body.phone, body.district_code)
    session.commit()
    return user


def update_user(session: Session, user_id: int, changes: dict[str, Any]) -> User:
    """Change a user's name, roles, department, phone, password or active flag; unlock after lockout."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user-not-found", "用户不存在", "No such user")
    if "department_code" in changes:
        code = changes.pop("department_code")
        department = session.scalar(select(Department).where(Department.code == code)) if code else None
        if code and department is None:
            raise Invalid("unknown-department", f"未知部门：{code}", f"Unknown department {code}")
        user.department = department
    roles = changes.pop("roles", None)
    if roles is not None:  # keep the rows of roles that stay: replacing them all would clash on (user, role)
        wanted = set(roles)
        user.roles = [r for r in user.roles if r.role in wanted] + [
            UserRole(role=r) for r in dict.fromkeys(roles) if r not in user.role_names]
    if "department" in user.role_names and user.department is None:
        raise Invalid("department-required", "专业部门用户必须指定部门", "Department staff need a department")
    if password := changes.pop("password", None):
        user.password_hash = hash_password(password)
        user.token_version += 1  # a new password ends every session made with the old one
    if changes.pop("unlock", False):
        throttle.unlock(session, user.username)
    if "district_code" in changes:  # null moves the user to the city center
        user.district_code = changes.pop("district_code")
    for field in ("display_name", "phone", "active"):
        if field in changes and changes[field] is not None:
            setattr(user, field, changes[field])
    if changes.get("active") is False:
        user.token_version += 1
    session.commit()
    return user
