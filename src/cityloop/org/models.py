"""Departments (专业部门/属地单位) and users with roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityloop.db import Base, UTCDateTime


class Department(Base):
    """A unit that handles cases: a class-1 county department or a class-2 town/street (属地) unit."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(200))
    # class1 = 一级专业部门 (县直部门), class2 = 二级 (乡镇/街道), center = 监督指挥中心
    group: Mapped[str] = mapped_column(String(16), default="class1")
    # For a 属地 unit: the region (street/town or district code) it is territorially responsible for.
    territory_code: Mapped[str | None] = mapped_column(String(12), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    """A person who logs in; roles decide what they may do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # City mode: the district center (区县分中心, 6-digit code) whose cases this user works on; null = city center.
    district_code: Mapped[str | None] = mapped_column(String(12), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Unused since the login_throttle table (h19a1); kept rather than rebuilding the users table on SQLite.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Tokens carry the version they were issued under; logout or a new password bumps it, ending them all.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    roles: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    department: Mapped[Department | None] = relationship(lazy="joined")

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))


class LoginThrottle(Base):
    """Login attempts of one client IP, one account name (known or not) or one (account, IP) pair, shared by every
    worker and host: a failure streak, and the time before which further attempts are refused."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # ip:<ip> | user:<name> | pair:<ip>|<name>
    username: Mapped[str | None] = mapped_column(String(64), index=True)  # what an admin unlock clears
    count: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[int] = mapped_column(BigInteger, index=True)  # epoch seconds of the last counted attempt
    blocked_until: Mapped[int | None] = mapped_column(BigInteger)  # epoch seconds
