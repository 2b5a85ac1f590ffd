"""Alarms: apply rule transitions (raise, escalate, clear) — one open alarm per device and rule, a case at the
configured level (auto-filed and dispatched to the device's unit as 紧急), a public warning for waterlogging,
notices for people; and acknowledgement by staff. Callers commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityloop.cases import api as cases_api
from cityloop.cases.api import TERMINAL, Case
from cityloop.config import Settings
from cityloop.sensors import domain
from cityloop.sensors.alarm_reads import OpenAlarms, open_alarm, recent_episodes, sibling_cases
from cityloop.sensors.devices import DeviceMeta, Locate
from cityloop.sensors.models import Alarm, AlarmEvent, PublicWarning
from cityloop.shared.errors import AppError, Conflict, NotFound
from cityloop.sla.domain import WorkCalendar


@dataclass
class Notice:
    """A message for people, sent after the transaction commits."""

    department: str | None
    subject: str
    text: str


@dataclass
class Outcome:
    """What one transition did (for the caller's reply and the latency figures)."""

    device: str
    rule: str
    kind: str
    level: str
    alarm_id: int
    case_id: int | None = None
    case_opened: bool = False


@dataclass
class Deferred:
    """A transition whose case waits for the batch's bulk opening: what remains to do for it then."""

    out: Outcome
    dev: DeviceMeta
    spec: domain.RuleSpec
    alarm: Alarm
    tr: domain.Transition
    mark: int  # where its notices go in the batch's list
    warn: bool
    slot: list[AlarmEvent]  # where its alarm events go in the batch's


@dataclass
class BatchState:
    """What BatchLinker.apply_batch() keeps across a batch's transitions."""

    episodes: dict[tuple[int, str], Alarm]  # (device, rule) -> its last alarm cleared within the re-trigger window
    pending: list[Deferred] = field(default_factory=list)
    devices: set[int] = field(default_factory=set)  # devices with a pending case


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _event(session: Session, alarm: Alarm, kind: str, at: datetime, value: float | None = None, actor: str = "system",
           sink: list[AlarmEvent | list[AlarmEvent]] | None = None, **payload: Any) -> None:
    """Record an alarm event: added to the session, or appended to `sink` (a batch adds its events at its end)."""
    from cityloop.exchange.records import on_alarm_event  # the alarm's summary goes up (exchange outbox)

    event = AlarmEvent(alarm_id=alarm.id, at=at, kind=kind, level=alarm.level, value=value, actor=actor,
                       payload=payload or None)
    if sink is None:
        session.add(event)
    else:
        sink.append(event)
    on_alarm_event(session, alarm, kind, at)


def _fmt(spec: domain.RuleSpec, value: float) -> str:
    unit = domain.METRICS[spec.metric][3] if spec.metric else ""
    return f"{value:g}{unit}"


class Linker:
    """Applies transitions inside the caller's transaction; needs a calendar and locate() for cases."""

    def __init__(self, settings: Settings, cal: WorkCalendar | None, locate: Locate) -> None:
        self.settings, self.cal, self.locate = settings, cal, locate
        self.grids = 0  # the grid version locate was built from
        # While BatchLinker.apply_batch() runs: its alarm events in order, added to the session at its end (a
        # deferred case's events fill the slot it left).
        self.sink: list[AlarmEvent | list[AlarmEvent]] | None = None
        self.categories: dict[str, tuple[str, str | None]] = {
            **domain.CATEGORIES,
            **{k: cast("tuple[str, str | None]", tuple(v)) for k, v in settings.sensor_categories.items()}}

    def _event(self, session: Session, alarm: Alarm, kind: str, at: datetime, value: float | None = None,
               **payload: Any) -> None:
        _event(session, alarm, kind, at, value, sink=self.sink, **payload)

    @property
    def work_calendar(self) -> WorkCalendar:
        """The calendar for cases and notes (callers set `cal` before applying transitions)."""
        if self.cal is None:
            raise RuntimeError("Linker.cal is not set")
        return self.cal

    def apply(self, session: Session, dev: DeviceMeta, spec: domain.RuleSpec, tr: domain.Transition,
              now: datetime, notices: list[Notice], known: OpenAlarms | None = None) -> Outcome:
        """Apply one transition of one rule of one device; `known` (from open_alarms(), kept up to date here)
        spares the query for the open alarm."""
        return self._apply_known(session, dev, spec, tr, now, notices, known, None)

    def _apply_known(self, session: Session, dev: DeviceMeta, spec: domain.RuleSpec, tr: domain.Transition,
                     now: datetime, notices: list[Notice], known: OpenAlarms | None, batch: BatchState | None) -> Outcome:
        if known is None:
            return self._apply(session, dev, spec, tr, now, notices, open_alarm(session, dev.id, spec.code), batch)
        key = (dev.id, spec.code)
        out = self._apply(session, dev, spec, tr, now, notices, known.get(key), batch)
        if out.kind == "raise":
            known[key] = cast(Alarm, session.get(Alarm, out.alarm_id))
        elif out.kind == "clear":
            known.pop(key, None)
        return out

    def _apply(self, session: Session, dev: DeviceMeta, spec: domain.RuleSpec, tr: domain.Transition,
               now: datetime, notices: list[Notice], alarm: Alarm | None, batch: BatchState | None = None) -> Outcome:
        if tr.kind == "clear":
            if alarm is None:
                return Outcome(dev.code, spec.code, "noop", tr.level, 0)
            self._clear(session, dev, spec, alarm, tr, now, notices)
            if batch is not None:  # cleared now: the episode a re-trigger in this batch joins
                batch.episodes[(dev.id, spec.code)] = alarm
            return Outcome(dev.code, spec.code, "clear", alarm.level, alarm.id, alarm.case_id)
        if alarm is None:
            alarm = self._raise(session, dev, spec, tr, now, notices, batch)
            kind = "raise"
        elif domain.RANK[tr.level] > domain.RANK[alarm.level]:
            alarm.level, alarm.updated_at = tr.level, now
            alarm.state = "active"  # a higher level needs a new acknowledgement
            self._event(session, alarm, "escalate", now, tr.value)
            if alarm.case_id:
                cases_api.note(session, self.settings, self.work_calendar, now, alarm.case_id,
                                f"报警升级为{domain.LEVELS[tr.level][0]}：{spec.zh} {_fmt(spec, tr.value)}",
                                {"sensor_alarm": alarm.id, "level": tr.level})
            kind = "escalate"
        else:
            return Outcome(dev.code, spec.code, "noop", alarm.level, alarm.id, alarm.case_id)
        alarm.peak_value = tr.value if alarm.peak_value is None else max(alarm.peak_value, tr.value)
        opened = False
        if domain.at_least(alarm.level, spec.case_level) and alarm.case_id is None:
            if batch is not None:  # opened with the batch's other cases; its warning follows its case
                out = Outcome(dev.code, spec.code, kind, alarm.level, alarm.id)
                slot: list[AlarmEvent] = []
                assert self.sink is not None  # BatchLinker.apply_batch() set it
                self.sink.append(slot)
                batch.pending.append(Deferred(out, dev, spec, alarm, tr, len(notices),
                                               domain.at_least(alarm.level, spec.warn_level), slot))
                batch.devices.add(dev.id)
                return out
            opened = self._case(session, dev, spec, alarm, tr, now, notices)
        if domain.at_least(alarm.level, spec.warn_level):
            self._warn(session, dev, alarm, tr, now, notices)
        return Outcome(dev.code, spec.code, kind, alarm.level, alarm.id, alarm.case_id, opened)

    def _raise(self, session: Session, dev: DeviceMeta, spec: domain.RuleSpec, tr: domain.Transition,
               now: datetime, notices: list[Notice], batch: BatchState | None = None) -> Alarm:
        alarm = Alarm(device_id=dev.id, rule_code=spec.code, level=tr.level, state="active", is_open=True,
                      value=tr.value, peak_value=tr.value, raised_at=now, updated_at=now)
        session.add(alarm)
        session.flush()
        key = (dev.id, spec.code)
        previous = (recent_episodes(session, self.settings, {key}, now) if batch is None else batch.episodes).get(key)
        alarm.episode_id = previous.episode_id if previous is not None else alarm.id
        self._event(session, alarm, "raise", now, tr.value, reading_at=_utc(tr.ts).isoformat())
        if previous is not None and previous.case_id is not None:
            stage = session.scalar(select(Case.stage).where(Case.id == previous.case_id))
            if stage not in TERMINAL:  # a re-trigger joins the open case of its episode
                alarm.case_id = previous.case_id
                self._event(session, alarm, "retrigger", now, tr.value, case_id=previous.case_id)
                cases_api.note(session, self.settings, self.work_calendar, now, alarm.case_id,
                                f"报警再次触发：{spec.zh} {_fmt(spec, tr.value)}",
                                {"sensor_alarm": alarm.id, "level": tr.level})
        if spec.case_level is None:
            notices.append(Notice(dev.department_code, f"{dev.name} {spec.zh}",
                                  f"{dev.name}（{dev.code}）{spec.zh}：{_fmt(spec, tr.value)}"))
        from cityloop.notify.hooks import alarm_raised  # the department's subscribers, in this transaction

        alarm_raised(session, alarm.id, dev.department_code, dev.code, tr.level, f"{dev.name} {spec.zh}",
                     f"{dev.name}（{dev.code}）{spec.zh}：{_fmt(spec, tr.value)}", now)
        return alarm

    def _case(self, session: Session, dev: DeviceMeta, spec: domain.RuleSpec, alarm: Alarm, tr: domain.Transition,
              now: datetime, notices: list[Notice]) -> bool:
        sibling = sibling_cases(session, [(alarm.id, dev, spec)]).get(alarm.id)
        if sibling is not None:
            self._join(session, spec, alarm, tr, now, sibling)
            return False
        result = cases_api.open_cases(session, self.settings, self.work_calendar, now, self.locate,
                                      [self._new_case(dev, spec, alarm, tr)])[0]
        return self._opened(session, dev, spec, alarm, tr, now, notices, result)

    def _join(self, session: Session, spec: domain.RuleSpec, alarm: Alarm, tr: domain.Transition, now: datetime,
              sibling: int) -> None:
        alarm.case_id = sibling
        self._event(session, alarm, "case", now, tr.value, case_id=sibling, joined=True)
        cases_api.note(session, self.settings, self.work_calendar, now, sibling,
                       f"同一设备另一报警：{spec.zh}（{domain.LEVELS[alarm.level][0]}）{_fmt(spec, tr.value)}",
                       {"sensor_alarm": alarm.id, "level": alarm.level})

    def _new_case(self, dev: DeviceMeta, spec: domain.RuleSpec, alarm: Alarm, tr: domain.Transition
                  ) -> cases_api.NewCase:
        code, condition = domain.category_for(spec.category, dev.context, dev.cover_type, self.categories)
        level_zh = domain.LEVELS[alarm.level][0]
        threshold = dict(spec.levels).get(alarm.level)
        start = int((tr.ts - 3600) * 1000)
        chart = (f"/api/v1/sensors/devices/{dev.code}/readings?metric={spec.metric}"
                 f"&start={start}&end={int(tr.ts * 1000) + 3_600_000}")
        evidence = {"device": dev.code, "rule": spec.code, "level": alarm.level, "value": tr.value,
                    "threshold": threshold, "metric": spec.metric, "reading_at": _utc(tr.ts).isoformat(),
                    "chart": chart, "summary": f"{spec.zh}{level_zh}：{_fmt(spec, tr.value)}"}
        return cases_api.NewCase(
            source="sensor", category_code=code, lon=dev.lon, lat=dev.lat,
            description=f"{dev.name}：{spec.zh}（{level_zh}），{_fmt(spec, tr.value)}", address=dev.address or dev.name,
            component_id=dev.component_id, department_code=dev.department_code, condition_code=condition, urgent=True,
            evidence=evidence, key=f"sensor:{dev.code}:{spec.code}:{alarm.episode_id}")

    def _opened(self, session: Session, dev: DeviceMeta, spec: domain.RuleSpec, alarm: Alarm, tr: domain.Transition,
                now: datetime, notices: list[Notice], result: Case | AppError) -> bool:
        if isinstance(result, AppError):  # e.g. the category is missing from a local catalog: the alarm stands alone
            self._event(session, alarm, "case_failed", now, tr.value, code=result.code, detail=result.zh)
            return False
        alarm.case_id = result.id
        self._event(session, alarm, "case", now, tr.value, case_id=result.id, number=result.number)
        notices.append(Notice(dev.department_code, f"{result.number} {spec.zh}",
                              f"案件 {result.number}：{dev.name} {spec.zh}（{domain.LEVELS[alarm.level][0]}）"
                              f"{_fmt(spec, tr.value)}，请立即处置"))
        return True

    def _warn(self, session: Session, dev: DeviceMeta, alarm: Alarm, tr: domain.Transition,
              now: datetime, notices: list[Notice]) -> None:
        zh, en, kind = domain.WARNINGS[alarm.level]
        warning = session.scalar(select(PublicWarning).where(PublicWarning.alarm_id == alarm.id))
        if warning is None:
            warning = PublicWarning(device_id=dev.id, alarm_id=alarm.id, place=dev.address or dev.name, lon=dev.lon,
                                    lat=dev.lat, published_at=now, kind=kind, level=alarm.level, title=zh,
                                    title_en=en, updated_at=now)
            session.add(warning)
        elif warning.level == alarm.level:
            return
        warning.kind, warning.level, warning.title, warning.title_en = kind, alarm.level, zh, en
        warning.depth_cm, warning.updated_at = tr.value, now
        self._event(session, alarm, "warning", now, tr.value, warning=kind)
        notices.append(Notice(dev.department_code, f"{warning.place} {zh}", f"【积水预警】{warning.place}：{zh}"
                                                                             f"（{tr.value:g}cm）"))

    def _clear(self, session: Session, dev: DeviceMeta, spec: domain.RuleSpec, alarm: Alarm, tr: domain.Transition,
               now: datetime, notices: list[Notice]) -> None:
        alarm.state, alarm.is_open, alarm.cleared_at, alarm.updated_at = "cleared", None, now, now
        self._event(session, alarm, "clear", now, tr.value)
        for warning in session.scalars(select(PublicWarning).where(PublicWarning.alarm_id == alarm.id,
                                                                   PublicWarning.lifted_at.is_(None))):
            warning.lifted_at, warning.updated_at = now, now
            notices.append(Notice(dev.department_code, f"{warning.place} 预警解除",
                                  f"【预警解除】{warning.place}：积水已退，恢复通行"))
        if alarm.case_id is not None:
            cases_api.note(session, self.settings, self.work_calendar, now, alarm.case_id,
                            f"报警已解除：{spec.zh}，当前 {_fmt(spec, tr.value)}",
                            {"sensor_alarm": alarm.id, "alarm": "cleared"})
            number = session.scalar(select(Case.number).where(Case.id == alarm.case_id))
            notices.append(Notice(dev.department_code, f"{number} 报警解除",
                                  f"案件 {number}：{dev.name} {spec.zh}已解除（{_fmt(spec, tr.value)}）"))


def acknowledge(session: Session, alarm_id: int, who: str, now: datetime, note: str | None = None) -> Alarm:
    """确认 an active alarm (staff saw it), committed; a cleared or already acknowledged alarm is a 409."""
    alarm = session.get(Alarm, alarm_id, with_for_update=True)
    if alarm is None:
        raise NotFound("alarm-not-found", f"报警不存在：{alarm_id}", f"No alarm {alarm_id}")
    if alarm.state != "active":
        raise Conflict("alarm-not-active", f"报警当前状态为 {alarm.state}，不能确认",
                       f"The alarm is {alarm.state}; only an active alarm can be acknowledged", state=alarm.state)
    alarm.state, alarm.acknowledged_at, alarm.acknowledged_by, alarm.updated_at = "acknowledged", now, who, now
    extra: dict[str, Any] = {"note": note} if note else {}
    _event(session, alarm, "acknowledge", now, actor=who, **extra)
    session.commit()
    return alarm
