"""The one rule the exchange adds to the workflow: a case assigned from above (上级交办 through the exchange)
is closed only after everything it did so far — its result above all — has been acknowledged upstream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from cityloop.exchange.models import OutboxRow, Received
from cityloop.shared.errors import Conflict
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from cityloop.cases.api import Case


def check_close(session: Session, case: Case) -> None:
    """Raise a 409 when the assigned case still has events not acknowledged by the upper platform."""
    if session.scalar(select(Received.id).where(Received.case_id == case.id)) is None:
        return
    waiting = session.scalar(select(func.count()).select_from(OutboxRow).where(
        OutboxRow.case_id == case.id, OutboxRow.acked_at.is_(None)))
    if waiting:
        raise Conflict("exchange-result-pending",
                       f"上级交办案件的处置结果尚未被上级平台确认接收（{waiting} 条待上报），请稍后再结案",
                       f"The upper platform has not acknowledged this assigned case's result yet ({waiting} events "
                       "waiting); close it once they are sent", waiting=waiting)
