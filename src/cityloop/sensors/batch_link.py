"""A batch's transitions applied together: what Linker.apply() one at a time leaves, with one query for the recent
episodes, the alarm events inserted at the end in their order, and the cases opened together (open_cases)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import TERMINAL, Case
from cityloop.sensors import domain
from cityloop.sensors.alarms import BatchState, Deferred, Linker, Notice, OpenAlarms, Outcome
from cityloop.sensors.devices import DeviceMeta
from cityloop.sensors.models import Alarm, AlarmEvent


class BatchLinker(Linker):
    """A Linker that also applies a whole batch (the ingest pipeline's)."""

    def apply_batch(self, session: Session, transitions: Sequence[tuple[DeviceMeta, domain.RuleSpec,
                                                                         domain.Transition]],
                    now: datetime, notices: list[Notice], known: OpenAlarms) -> list[Outcome]:
        """Apply a batch's transitions in order, leaving what apply() one by one would, given their open alarms
        (open_alarms()): one query for the recent episodes, the alarm events inserted together at the end, and
        the cases opened together (open_cases), at the end or before a later transition of the same device."""
        batch = BatchState(self._episodes(session, {(m.id, s.code) for m, s, tr in transitions if tr.kind != "clear"},
                                      now))
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

    def _episodes(self, session: Session, keys: set[tuple[int, str]], now: datetime) -> dict[tuple[int, str], Alarm]:
        """_recent_episode() of each of these (device, rule) pairs, in one query."""
        if not keys:
            return {}
        since = now - timedelta(minutes=self.settings.sensor_retrigger_minutes)
        found = session.scalars(select(Alarm).where(tuple_(Alarm.device_id, Alarm.rule_code).in_(sorted(keys)),
                                                    Alarm.cleared_at >= since).order_by(Alarm.cleared_at, Alarm.id))
        return {(a.device_id, a.rule_code): a for a in found}  # the last cleared wins

    def _open_pending(self, session: Session, batch: BatchState, now: datetime, notices: list[Notice]) -> None:
        """Finish the deferred transitions: join a sibling's case or open the rest together, then warn; their
        notices go where apply() would have put them."""
        items, batch.pending, batch.devices = batch.pending, [], set()
        if not items:
            return
        siblings = self._siblings(session, items)
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

    def _siblings(self, session: Session, items: list[Deferred]) -> dict[int, int]:
        """_sibling_case() of each deferred alarm (of distinct devices), in one query: alarm id -> case id."""
        codes = {d.alarm.id: {s.code for s in d.dev.rules if s.category == d.spec.category and s.code != d.spec.code}
                 for d in items}
        devices = {d.dev.id for d in items if codes[d.alarm.id]}
        if not devices:
            return {}
        rows = session.execute(select(Alarm.device_id, Alarm.rule_code, Alarm.case_id).join(
            Case, Case.id == Alarm.case_id).where(Alarm.device_id.in_(sorted(devices)), Alarm.is_open.is_(True),
                                                  Case.stage.notin_(TERMINAL)).order_by(Alarm.id)).all()
        out: dict[int, int] = {}
        for d in items:
            found = next((case_id for device_id, rule, case_id in rows
                          if device_id == d.dev.id and rule in codes[d.alarm.id]), None)
            if found is not None:
                out[d.alarm.id] = found
        return out
