"""Pure rules of the 督办单 and 协办 lists: overdue, and the helper figures (docs/assessment.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

SUPERVISION_STATUSES = {"open": ("待回复", "open"), "replied": ("待督查", "replied"), "closed": ("已办结", "closed")}
ASSIST_STATUSES = {"open": ("办理中", "open"), "done": ("已反馈", "done"), "lapsed": ("未完成", "unfinished"),
                   "cancelled": ("已取消", "cancelled")}


def supervision_overdue(status: str, due_at: datetime, replied_at: datetime | None, now: datetime) -> bool:
    """A 督办单 is overdue when it was not answered by its deadline (still open past it, or answered late)."""
    if replied_at is not None:
        return replied_at > due_at
    return status == "open" and now > due_at


@dataclass(frozen=True)
class AssistFigures:
    """One helper department's 协办 figures over a period."""

    due: int = 0  # 应协办数: tasks given (cancelled ones not counted)
    done: int = 0  # 协办反馈数
    on_time: int = 0  # 按时协办数
    lapsed: int = 0  # 协办未完成数: still open when the lead reported

    @property
    def on_time_rate(self) -> float | None:
        """协办按时完成率 = 按时协办数 ÷ 应协办数."""
        return self.on_time / self.due if self.due else None


def assist_figures(tasks: Iterable[tuple[str, bool | None]]) -> AssistFigures:
    """Figures from (status, on_time) of a department's helper tasks; open tasks are due but not done yet."""
    due = done = on_time = lapsed = 0
    for status, timely in tasks:
        if status == "cancelled":
            continue
        due += 1
        done += status == "done"
        on_time += status == "done" and bool(timely)
        lapsed += status == "lapsed"
    return AssistFigures(due, done, on_time, lapsed)


@dataclass(frozen=True)
class SupervisionFigures:
    """One department's 督办单 figures over a period."""

    issued: int = 0  # 督办单数
    unanswered: int = 0  # 督办超期未回复数 (answered late or not at all by its deadline)
    repeated: int = 0  # 重复督办数: the 2nd, 3rd … 督办单 of one case to this unit

    @property
    def unanswered_rate(self) -> float | None:
        """督办超期未回复率 = 督办超期未回复数 ÷ 督办单数."""
        return self.unanswered / self.issued if self.issued else None


def supervision_figures(rows: Iterable[tuple[str, datetime, datetime | None, int]], now: datetime) -> SupervisionFigures:
    """Figures from (status, due_at, replied_at, repeat) of a department's 督办单."""
    issued = unanswered = repeated = 0
    for status, due, replied, repeat in rows:
        issued += 1
        unanswered += supervision_overdue(status, due, replied, now)
        repeated += repeat > 1
    return SupervisionFigures(issued, unanswered, repeated)
