"""A batch's transitions applied together: what Linker.apply() one at a time leaves, with one query for the recent
episodes, the alarm events inserted at the end in their order, and the cases opened together (open_cases)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.sensors import domain
from cityloop.sensors.alarm_reads import OpenAlarms, recent_episodes, sibling_cases
from cityloop.sensors.alarms import BatchState, Linker, Notice, Outcome
from cityloop.sensors.devices import DeviceMeta
from cityloop.sensors.models import AlarmEvent


class BatchLinker(Linker):
    """A Linker that also applies a whole batch (the ingest pipeline's)."""

    def apply_batch(self, session: Session, transitions: Sequence[tuple[DeviceMeta, domain.RuleSpec,
                                                                         domain.Transition]],
                    now: datetime, notices: list[Notice], known: OpenAlarms) -> list[Outcome]:
        """Apply a batch's transitions in order, leaving what apply() one by one would, given their open alarms
        (open_alarms()): one query for the recent episodes, the alarm events inserted together at the end, and
        the cases opened together (open_cases), at the end or before a later transition of the same device."""
        batch = BatchState(recent_episodes(session, self.settings,
                                           {(m.id, s.code) for m, s, tr in transitions if tr.kind != "clear"}, now))
        self.sink = []
        try:
            out = []
            for meta, spec, tr in transitions:
                if meta.id in batch.devices:
                    self._open_pending(session, batch, now, notices)
                out.append(self._apply_known(session, meta, spec, tr, now, notices, known, batch))
            self._open_pending(session, batch, now, notices)
            session.add_all([e for item in self.sink for e in (item if isinstance(item, list) else [item])])
        finally:
            self.sink = None
        return out

    def _open_pending(self, session: Session, batch: BatchState, now: datetime, notices: list[Notice]) -> None:
        """Finish the deferred transitions: join a sibling's case or open the rest together, then warn; their
        notices go where apply() would have put them."""
        items, batch.pending, batch.devices = batch.pending, [], set()
        if not items:
            return
        siblings = sibling_cases(session, [(d.alarm.id, d.dev, d.spec) for d in items])
        opening = [d for d in items if siblings.get(d.alarm.id) is None]
        sink = self.sink
        try:
            for d in items:
                if (sibling := siblings.get(d.alarm.id)) is not None:
                    self.sink = cast("list[AlarmEvent | list[AlarmEvent]]", d.slot)
                    self._join(session, d.spec, d.alarm, d.tr, now, sibling)
            self.sink = sink
            results = cases_api.open_cases(session, self.settings, self.work_calendar, now, self.locate,
                                           [self._new_case(d.dev, d.spec, d.alarm, d.tr) for d in opening]) \
                if opening else []
            opened = {id(d): r for d, r in zip(opening, results)}
            late: list[tuple[int, list[Notice]]] = []
            for d in items:
                self.sink = cast("list[AlarmEvent | list[AlarmEvent]]", d.slot)
                mine: list[Notice] = []
                if id(d) in opened:
                    d.out.case_opened = self._opened(session, d.dev, d.spec, d.alarm, d.tr, now, mine, opened[id(d)])
                if d.warn:
                    self._warn(session, d.dev, d.alarm, d.tr, now, mine)
                d.out.case_id = d.alarm.case_id
                late.append((d.mark, mine))
        finally:
            self.sink = sink
        for mark, mine in reversed(late):
            notices[mark:mark] = mine
