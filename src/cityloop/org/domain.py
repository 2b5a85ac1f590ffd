"""Roles and what each may see (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

ROLES = ("inspector", "operator", "shift_lead", "dispatcher", "department", "leader", "admin", "company")
ROLE_NAMES = {
    "inspector": ("监督员", "Inspector"),
    "operator": ("受理员", "Operator"),
    "shift_lead": ("值班长", "Shift lead"),
    "dispatcher": ("派遣员", "Dispatcher"),
    "department": ("专业部门", "Department staff"),
    "leader": ("领导", "Leader"),
    "admin": ("系统管理员", "Administrator"),
    "company": ("运输企业", "Transport company"),
    "system": ("系统", "System"),
}
# Roles that see every case; departments and inspectors see only their own.
CITYWIDE_ROLES = frozenset({"operator", "shift_lead", "dispatcher", "leader", "admin"})


def lock_after_failure(failures: int, now: datetime, max_failures: int, lock_minutes: int) -> datetime | None:
    """Lock time after a failed login: none until max_failures, then lock_minutes."""
    if failures >= max_failures:
        return now + timedelta(minutes=lock_minutes)
    return None
