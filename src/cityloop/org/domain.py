"""Roles and what each may see (pure)."""

from __future__ import annotations

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


def backoff_seconds(attempt: int, free: int, first: int, cap: int) -> int:
    """Seconds to wait after the attempt-th counted login attempt of a streak: none before the free-th, then `first`,
    doubling each attempt, never more than `cap` (a progressive delay rather than a lock anyone could hold forever)."""
    if attempt < free:
        return 0
    return min(first * 2 ** min(attempt - free, 32), cap)


def backoff_steps(free: int, first: int, cap: int) -> list[tuple[int, int]]:
    """(attempt, delay) from the free-th attempt until the delay reaches the cap; later attempts wait the cap."""
    steps, attempt = [], free
    while True:
        delay = backoff_seconds(attempt, free, first, cap)
        steps.append((attempt, delay))
        if delay >= cap:
            return steps
        attempt += 1
