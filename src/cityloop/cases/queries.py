"""Read side: case lists with filters and visibility, one case, its events, the caller's inbox."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, bindparam, exists, false, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from cityloop.cases.actions import duty_grids_of, states
from cityloop.cases.domain import CLOSE_TYPES, NODES, OPEN_STAGES, RULES, STAGES, available_actions
from cityloop.cases.models import Case, CaseAssist, CaseEvent, CaseNode, CasePhoto, CaseSupervision, CaseTask
from cityloop.cases.schemas import CaseOut, EventOut, TaskOut
from cityloop.catalog.models import Category, FilingCondition
from cityloop.org.actor import Actor
from cityloop.org.domain import CITYWIDE_ROLES
from cityloop.org.models import Department
from cityloop.shared.errors import NotFound
from cityloop.shared.ids import as_id
from cityloop.sla.domain import Light, WorkCalendar, elapsed_fraction, light


Ts = TypeVarTuple("Ts")


def visible(stmt: Select[*Ts], session: Session, actor: Actor) -> Select[*Ts]:
    """Restrict a case query to what the actor may see."""
    if district_scoped(actor):  # 两级指挥: a district center's staff see their district center's cases only
        return stmt.where(Case.handling_district == actor.district_code)
    if actor.has(*CITYWIDE_ROLES):
        return stmt
    conditions: list[ColumnElement[bool]] = []
    if "department" in actor.roles and actor.department_id is not None:
        conditions += [Case.department_id == actor.department_id,  # 主办, and 协办 or 督办 of this department
                       exists().where(CaseAssist.case_id == Case.id, CaseAssist.department_id == actor.department_id),
                       exists().where(CaseSupervision.case_id == Case.id,
                                      CaseSupervision.department_id == actor.department_id)]
    if "inspector" in actor.roles:
        grids = duty_grids_of(session, actor.id)
        conditions += [Case.duty_grid_code.in_(grids), Case.reporter_id == actor.id,
                       exists().where(CaseTask.case_id == Case.id, CaseTask.assignee_id == actor.id)]
    return stmt.where(or_(*conditions)) if conditions else stmt.where(false())


def district_scoped(actor: Actor) -> bool:
    """A district center's staff (city mode); admins are never scoped."""
    return getattr(actor, "district_code", None) is not None and "admin" not in actor.roles


def openable(session: Session, actor: Actor, case_ids: Iterable[int | None]) -> set[int]:
    """Those of `case_ids` the actor may open; other areas' lists show no number or link for the rest."""
    ids = {i for i in case_ids if i is not None}
    if not ids or (actor.has(*CITYWIDE_ROLES) and not district_scoped(actor)):
        return ids
    return set(session.scalars(visible(select(Case.id).where(Case.id.in_(ids)), session, actor)))


def get_visible(session: Session, actor: Actor, ident: int | str) -> Case:
    """One case the actor may see, or 404 (no hint that it exists)."""
    row_id = as_id(ident)
    col = Case.id == row_id if row_id is not None else Case.number == str(ident)
    case = session.scalar(visible(select(Case).where(col), session, actor))
    if case is None:
        raise NotFound("case-not-found", f"案件 {ident} 不存在", f"Case {ident} not found")
    return case


def search(session: Session, actor: Actor, filters: Mapping[str, Any], now: datetime,
           stmt: Select[*tuple[Any, ...]] | None = None) -> Select[*tuple[Any, ...]]:
    """The visible cases matching the filters (number, address, keyword, category, department, stage, source,
    grid, date range, overdue); unsorted."""
    stmt = visible(stmt if stmt is not None else select(Case), session, actor)
    if filters.get("number"):
        prefix = filters["number"].strip()
        # The range lets both databases read the unique index (a LIKE alone scans every case); LIKE keeps it exact.
        stmt = stmt.where(Case.number >= prefix, Case.number < prefix + "\U0010ffff",
                          Case.number.startswith(prefix, autoescape=True))
    if filters.get("address"):
        stmt = stmt.where(Case.address.icontains(filters["address"].strip(), autoescape=True))
    if filters.get("q"):
        keyword = filters["q"].strip()
        stmt = stmt.where(Case.description.icontains(keyword, autoescape=True))  # exact: the indexes only narrow
        dialect = session.get_bind().dialect.name
        if len(keyword) >= 2 and dialect == "postgresql":
            # The character-pair index (migration s18b1): the cases holding every pair of the keyword.
            pairs = func.cityloop_bigrams
            stmt = stmt.where(pairs(Case.description).op("@>")(pairs(keyword)))
        elif len(keyword) >= 3 and dialect == "sqlite":
            # The FTS5 trigram index (migration dash18a1) narrows to the cases holding the keyword's trigrams;
            # a shorter keyword is matched by a scan.
            phrase = '"' + keyword.replace('"', '""') + '"'
            stmt = stmt.where(Case.id.in_(text("SELECT rowid FROM cases_fts WHERE cases_fts MATCH :phrase")
                                          .bindparams(phrase=phrase)))
    eq = {"stage": Case.stage, "category": Case.category_code, "grid": Case.grid_code,
          "duty_grid": Case.duty_grid_code, "district": Case.district_code, "street": Case.street_code,
          "source": Case.source}
    for key, col in eq.items():
        if filters.get(key):
            stmt = stmt.where(col == filters[key])
    if filters.get("department"):
        stmt = stmt.where(Case.department_id == select(Department.id).where(
            Department.code == filters["department"]).scalar_subquery())
    if filters.get("overdue") is not None:
        late = Case.node_due_at < now
        stmt = stmt.where(late if filters["overdue"] else or_(~late, Case.node_due_at.is_(None)))
    if filters.get("created_from"):
        stmt = stmt.where(Case.created_at >= filters["created_from"])
    if filters.get("created_to"):
        stmt = stmt.where(Case.created_at < filters["created_to"])
    return stmt


# Counting every match would read the whole history for a broad query: at most this many are counted.
COUNT_CAP = 10_000


def list_cases(session: Session, actor: Actor, filters: Mapping[str, Any], now: datetime, page: int, size: int,
               cal: WorkCalendar) -> tuple[list[CaseOut], int, bool]:
    """Filtered, paginated cases, newest first, with the number of matches and whether that number is only a
    lower bound: matches are counted up to COUNT_CAP (or to the end of the page asked for, if further), so the
    time of a broad query does not grow with the history; past the bound the total is the bound."""
    stmt = search(session, actor, filters, now)
    offset = (page - 1) * size
    rows = list(session.scalars(stmt.order_by(Case.id.desc()).offset(offset).limit(size)))
    if rows and len(rows) < size:  # the last page: the count is known without counting
        total, capped = offset + len(rows), False
    else:
        bound = max(COUNT_CAP, offset + size)
        ids = stmt.with_only_columns(Case.id).limit(bound + 1).subquery()
        total = session.execute(select(func.count()).select_from(ids)).scalar_one()
        total, capped = min(total, bound), total > bound
    return list_out(session, rows, actor, now, cal), total, capped


def timing(case: Case, now: datetime, cal: WorkCalendar) -> tuple[float | None, Light | None]:
    """Elapsed share and traffic light of the running node (none when paused or finished)."""
    if not case.node_due_at or case.stage == "suspended" or not case.node_started_at:
        return None, None
    frac = elapsed_fraction(cal, case.node_started_at, case.node_due_at, now, case.node_urgent)
    return round(frac, 4), light(frac)


LABELS = ("category_name", "condition_code", "department_code", "department_name", "suggested_department_code",
          "suggested_department_name", "merged_into")


@cache
def _labels_base() -> Select[*tuple[Any, ...]]:
    # Built once, on first use: aliasing is costly and this runs for every case shown.
    dept, sugg, merged = aliased(Department), aliased(Department), aliased(Case)
    return (select(Category.name, FilingCondition.code, dept.code, dept.name, sugg.code, sugg.name, merged.number,
                   Case.id)
            .select_from(Case).join(Category, Category.id == Case.category_id)
            .outerjoin(FilingCondition, FilingCondition.id == Case.filing_condition_id)
            .outerjoin(dept, dept.id == Case.department_id).outerjoin(sugg, sugg.id == Case.suggested_department_id)
            .outerjoin(merged, merged.id == Case.merged_into_id))


@cache
def _labels_stmt() -> Select[*tuple[Any, ...]]:
    return _labels_base().where(Case.id == bindparam("case_id"))


def _labels(session: Session, case: Case) -> dict[str, Any]:
    """Names and codes a case shows, in one query (category, condition, departments, merge target)."""
    row = session.execute(_labels_stmt(), {"case_id": case.id}).first()
    return dict(zip(LABELS, row)) if row else dict.fromkeys(LABELS)


def labels_of(session: Session, cases: Iterable[Case]) -> dict[int, dict[str, Any]]:
    """`_labels` of many cases in one query (a page of a list), by case id; every case has an entry."""
    ids = {c.id for c in cases}
    found = {row[-1]: dict(zip(LABELS, row)) for row in session.execute(
        _labels_base().where(Case.id.in_(ids)))} if ids else {}
    return {i: found.get(i) or dict.fromkeys(LABELS) for i in ids}


def list_out(session: Session, cases: Sequence[Case], actor: Actor, now: datetime,
             cal: WorkCalendar) -> list[CaseOut]:
    """The list view (no actions, no photos) of many cases: their names in one query, not one a case."""
    labels = labels_of(session, cases)
    return [to_out(session, c, actor, now, cal, with_actions=False, labels=labels[c.id]) for c in cases]


def to_out(session: Session, case: Case, actor: Actor, now: datetime, cal: WorkCalendar,
           with_actions: bool = True, labels: dict[str, Any] | None = None, photo_ids: list[int] | None = None) -> CaseOut:
    """The API view of a case; labels and photo ids may be given when the caller already knows them."""
    labels = labels if labels is not None else _labels(session, case)
    elapsed, lamp = timing(case, now, cal)
    actions: list[str] = []
    photos: list[int] = []
    if with_actions:
        actions = available_actions(*states(session, case, actor))
        photos = photo_ids if photo_ids is not None else list(session.scalars(
            select(CasePhoto.id).where(CasePhoto.case_id == case.id).order_by(CasePhoto.id)))
    phone = case.reporter_phone
    if phone and not (with_actions and actor.has(*CITYWIDE_ROLES)):  # in full only in one case's detail, for staff
        phone = mask_phone(phone)
    return CaseOut(
        id=case.id, number=case.number, stage=case.stage, stage_name=STAGES[case.stage][0], source=case.source,
        category_code=case.category_code, urgent=case.urgent, component_id=case.component_id,
        description=case.description, address=case.address, lon=case.lon, lat=case.lat, grid_code=case.grid_code,
        duty_grid_code=case.duty_grid_code, community_code=case.community_code, street_code=case.street_code,
        district_code=case.district_code, handling_district=case.handling_district,
        routing_reason=case.routing_reason, needs_ownership=case.needs_ownership,
        node=case.node, node_started_at=case.node_started_at, node_due_at=case.node_due_at, elapsed=elapsed,
        light=lamp, minutes_left=_minutes_left(case, now), overdue=bool(case.node_due_at and now > case.node_due_at and case.stage != "suspended"),
        pending_request=case.pending_request, self_handled=case.self_handled, rework_count=case.rework_count,
        return_count=case.return_count, extension_count=case.extension_count,
        suspension_count=case.suspension_count, wrong_dispatch_count=case.wrong_dispatch_count,
        supervise_count=case.supervise_count, reporter_phone=phone, send_back_count=case.send_back_count or 0,
        close_type=case.close_type, close_type_name=CLOSE_TYPES[case.close_type][0] if case.close_type else None,
        reporter_name=case.reporter_name if with_actions and actor.has(*CITYWIDE_ROLES) else None, created_at=case.created_at,
        updated_at=case.updated_at, closed_at=case.closed_at, actions=actions, photos=photos,
        **{**labels, "category_name": labels["category_name"] or ""},
    )


def _minutes_left(case: Case, now: datetime) -> int | None:
    if not case.node_due_at or case.stage == "suspended" or not case.node_started_at:
        return None
    return int((case.node_due_at - now).total_seconds() // 60)


def mask_phone(phone: str) -> str:
    """138****5678."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def events(session: Session, case: Case) -> list[EventOut]:
    """The case's history in order."""
    rows = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))
    names = {a: r.name[0] for a, r in RULES.items()} | {"report": "上报", "auto_supervise": "超时自动督办",
                                                         "supervise_overdue": "督办单超期未回复"}
    return [EventOut(seq=e.seq, action=e.action, action_name=names.get(e.action, e.action), actor=e.actor_name,
                     actor_role=e.actor_role, at=e.at, from_stage=e.from_stage, to_stage=e.to_stage,
                     payload=e.payload or {}) for e in rows]


def nodes(session: Session, case: Case) -> list[dict[str, Any]]:
    """Every run of a node (受理 … 结案) with its limit, deadline, end and whether it was on time."""
    rows = session.scalars(select(CaseNode).where(CaseNode.case_id == case.id).order_by(CaseNode.id))
    return [{"node": n.node, "node_name": NODES[n.node][0], "started_at": n.started_at, "due_at": n.due_at,
             "limit_minutes": n.limit_minutes, "urgent": n.urgent, "extended_minutes": n.extended_minutes,
             "ended_at": n.ended_at, "on_time": n.on_time, "overdue_marked": n.overdue_marked_at is not None}
            for n in rows]


# What each role works on: stages whose node waits for that role.
INBOX_STAGES = {"operator": ("reported",), "shift_lead": ("accepted", "checked"), "dispatcher": ("filed", "suspended")}


def inbox(session: Session, actor: Actor, now: datetime, cal: WorkCalendar, limit: int = 500) -> list[TaskOut]:
    """What waits for this user now, most urgent first (at most `limit` cases and `limit` tasks, then the most
    urgent `limit` of them)."""
    found: list[tuple[Case, str, int | None]] = []
    stages = {s for role, ss in INBOX_STAGES.items() if role in actor.roles for s in ss}
    conds: list[ColumnElement[bool]] = [Case.stage.in_(stages)] if stages else []
    if "dispatcher" in actor.roles:
        conds.append(Case.pending_request.in_(("return", "extension", "suspension")))  # 作废: the shift lead
    if "department" in actor.roles and actor.department_id is not None:
        conds.append((Case.stage == "dispatched") & (Case.department_id == actor.department_id))
        conds.append(exists().where(CaseAssist.case_id == Case.id, CaseAssist.status == "open",
                                    CaseAssist.department_id == actor.department_id))
        conds.append(exists().where(CaseSupervision.case_id == Case.id, CaseSupervision.status == "open",
                                    CaseSupervision.department_id == actor.department_id))
    if "shift_lead" in actor.roles:
        conds.append(Case.pending_request == "void")  # 作废审批
    if "operator" in actor.roles:
        conds.append((Case.stage == "handled") & (Case.node == "send_check"))  # 发核查 (operator mode)
    if "leader" in actor.roles:
        conds.append((Case.supervise_count > 0) | (Case.node_due_at < now))
    if conds:
        stmt = select(Case).where(or_(*conds), Case.stage.in_(OPEN_STAGES))
        if district_scoped(actor):
            stmt = stmt.where(Case.handling_district == actor.district_code)
        # Sorted on an expression: the planner reads the open stages by index, never the history in deadline order.
        due = func.coalesce(Case.node_due_at, Case.created_at)
        found += [(case, "case", None) for case in session.scalars(stmt.order_by(due, Case.id).limit(limit))]
    if actor.has("inspector", "operator"):
        task_stmt = select(CaseTask).where(CaseTask.status == "open")
        if not actor.has("operator"):
            grids = duty_grids_of(session, actor.id)
            task_stmt = task_stmt.where(or_(CaseTask.assignee_id == actor.id,
                                            CaseTask.assignee_id.is_(None) & CaseTask.duty_grid_code.in_(grids)))
        else:
            task_stmt = task_stmt.where(CaseTask.assignee_id.is_(None))
            if district_scoped(actor):
                task_stmt = task_stmt.where(CaseTask.case_id.in_(
                    select(Case.id).where(Case.handling_district == actor.district_code)))
        open_tasks = list(session.scalars(task_stmt.order_by(CaseTask.due_at, CaseTask.id).limit(limit)))
        cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_({t.case_id for t in open_tasks})))} \
            if open_tasks else {}
        found += [(cases[task.case_id], task.kind, task.id) for task in open_tasks]
    found.sort(key=lambda f: (f[0].node_due_at is None, f[0].node_due_at or now))
    found = found[:limit]
    names = dict(session.execute(select(Category.id, Category.name).where(
        Category.id.in_({c.category_id for c, _, _ in found}))).all()) if found else {}
    items = [_item(case, now, cal, kind, names.get(case.category_id, ""), task_id) for case, kind, task_id in found]
    _attach_photos(session, items)
    return items


def _attach_photos(session: Session, items: list[TaskOut]) -> None:
    """Each item gets its case's report photos (the first event's), in one query."""
    ids = {t.case_id for t in items}
    if not ids:
        return
    photos: dict[int, list[int]] = {}
    rows = session.execute(select(CasePhoto.case_id, CasePhoto.id).where(CasePhoto.case_id.in_(ids), CasePhoto.event_seq == 1)
                           .order_by(CasePhoto.id))
    for case_id, photo_id in rows:
        photos.setdefault(case_id, []).append(photo_id)
    for t in items:
        t.photos = photos.get(t.case_id, [])


_KIND_NAMES = {"case": "待办案件", "verify": "核实任务", "check": "核查任务"}


def _item(case: Case, now: datetime, cal: WorkCalendar, kind: str, category_name: str, task_id: int | None = None) -> TaskOut:
    _, lamp = timing(case, now, cal)
    return TaskOut(kind=kind, kind_name=_KIND_NAMES[kind], case_id=case.id, case_number=case.number,
                   stage=case.stage, category_name=category_name, address=case.address, node=case.node,
                   due_at=case.node_due_at, light=lamp, task_id=task_id,
                   description=case.description, lon=case.lon, lat=case.lat)
