"""Roles and what each may see (pure)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A user's role; the values are what the database stores and tokens carry."""

    INSPECTOR = "inspector"
    OPERATOR = "operator"
    SHIFT_LEAD = "shift_lead"
    DISPATCHER = "dispatcher"
    DEPARTMENT = "department"
    LEADER = "leader"
    ADMIN = "admin"
    COMPANY = "company"
    SYSTEM = "system"  # the platform itself (automation, sweeps); no user holds it


ROLES = tuple(r for r in Role if r is not Role.SYSTEM)
ROLE_NAMES: dict[Role, tuple[str, str]] = {
    Role.INSPECTOR: ("监督员", "Inspector"),
    Role.OPERATOR: ("受理员", "Operator"),
    Role.SHIFT_LEAD: ("值班长", "Shift lead"),
    Role.DISPATCHER: ("派遣员", "Dispatcher"),
    Role.DEPARTMENT: ("专业部门", "Department staff"),
    Role.LEADER: ("领导", "Leader"),
    Role.ADMIN: ("系统管理员", "Administrator"),
    Role.COMPANY: ("运输企业", "Transport company"),
    Role.SYSTEM: ("系统", "System"),
}
# Roles that see every case; departments and inspectors see only their own.
CITYWIDE_ROLES = frozenset({Role.OPERATOR, Role.SHIFT_LEAD, Role.DISPATCHER, Role.LEADER, Role.ADMIN})


def backoff_seconds(attempt: int, free: int, first: int, cap: int) -> int:
    """Seconds to wait after the attempt-th counted login attempt of a streak: none before the free-th, then `first`,
    doubling each attempt, never more than `cap` (a progressive delay rather than a lock anyone could hold forever)."""
    if attempt < free:
        return 0
    delay: int = min(first * 2 ** min(attempt - free, 32), cap)
    return delay


def backoff_steps(free: int, first: int, cap: int) -> list[tuple[int, int]]:
    """(attempt, delay) from the free-th attempt until the delay reaches the cap; later attempts wait the cap."""
    steps, attempt = [], free
    while True:
        delay = backoff_seconds(attempt, free, first, cap)
        steps.append((attempt, delay))
        if delay >= cap:
            return steps
        attempt += 1
