"""上报 intake: check and locate a report (no writes), then write reports in bulk.

prepare() does every read and decision, so the write holds SQLite's single write lock only for the inserts;
write() inserts any number of prepared reports with a handful of statements, which lets the HTTP intake
commit many reports per transaction (see cases/batcher.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.base import manager_of_class

from cityloop.audit.keys import audit_key
from cityloop.cases import hooks
from cityloop.cases.domain import SOURCES, TRUSTED_SOURCES, event_mac, new_public_id, state_digest
from cityloop.cases.models import Case, CaseEvent, CaseNode, CasePhoto
from cityloop.cases.photos import Photo, decode
from cityloop.cases.schemas import ReportIn
from cityloop.cases.service import Ctx, acting_role, node_limit
from cityloop.catalog.cache import Matter, load_matters
from cityloop.catalog.models import Component
from cityloop.config import Settings
from cityloop.db.bulk import insert_tables
from cityloop.org.actor import Actor
from cityloop.geo.domain import Place
from cityloop.geo.queries import outside_error
from cityloop.places.store import cached as places_index
from cityloop.shared.errors import Forbidden, Invalid
from cityloop.sla.domain import due_at

# Where a point is (its grid, or None outside the district): GridIndex.locate.
Locate = Callable[[float, float], Place | None]
# (lon, lat, coord_sys) -> WGS84 (lon, lat): geo.coords.to_wgs84.
ToWgs84 = Callable[[float, float, str], tuple[float, float]]

# Which sources each role may report for; the first is the default.
ROLE_SOURCES = {
    "inspector": ("inspector",),
    "operator": ("hotline", "public", "video", "open311", "sensor", "assigned"),
    "leader": ("assigned",),
    "shift_lead": ("assigned", "hotline"),
    "admin": ("inspector", "public", "hotline", "video", "sensor", "assigned", "open311"),
    "system": SOURCES,
}
# Counters and flags every new case starts with (a bulk insert applies no ORM defaults).
FRESH = dict(stage="reported", urgent=False, needs_ownership=False, overdue=False, node_urgent=False,
             rework_count=0, return_count=0, extension_count=0, suspension_count=0, wrong_dispatch_count=0,
             supervise_count=0, event_count=1, pending_request=None, filing_condition_id=None, department_id=None,
             last_department_id=None, suggested_department_id=None, routing_reason=None, merged_into_id=None,
             paused_at=None, closed_at=None, node="accept")


@dataclass
class Prepared:
    """A checked, located report ready to insert: column values of the case, its first node, event and photos."""

    day: str
    case: dict[str, Any]
    node: dict[str, Any]
    event: dict[str, Any]
    photos: list[dict[str, Any]] = field(default_factory=list)
    category_name: str = ""
    state: str = ""  # state_digest of the new case row, computed here so the write lock is not held for it
    # What the channel adds in the same transaction (its own row, a 受理…): after(session, case) -> outcome.
    after: Callable[[Session, Case], object] | None = None
    outcome: object = None


def request_hash(body: ReportIn, photos: Sequence[Photo]) -> str:
    """Fingerprint of a report, to tell a retry from a different report under the same key."""
    doc = {"body": body.model_dump(mode="json"), "photos": [p.sha256 for p in photos]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def find_by_key(session: Session, key: str, fingerprint: str) -> Case | None:
    """The case already created under this Idempotency-Key, or None; a different body is an error."""
    case = session.scalar(select(Case).where(Case.idempotency_key == key))
    if case is not None and case.request_hash != fingerprint:
        raise Invalid("idempotency-key-reused", "该 Idempotency-Key 已用于另一份不同的上报",
                      "This Idempotency-Key was already used with a different request body")
    return case


def pick_source(actor: Actor, wanted: str | None) -> str:
    """The report's source: what the role may report for, defaulting by role."""
    allowed: list[str] = []
    for role in sorted(actor.roles):
        allowed.extend(s for s in ROLE_SOURCES.get(role, ()) if s not in allowed)
    if not allowed:
        raise Forbidden("cannot-report", "当前角色不能上报案件", "Your role cannot report cases")
    if wanted is None:
        return allowed[0]
    if wanted not in allowed:
        raise Forbidden("source-not-allowed", f"当前角色不能以来源「{wanted}」上报", f"Your role cannot report as {wanted}")
    return wanted


def matter_or_422(matter: Matter | None, standard: str, code: str) -> Matter:
    """The matter, or a 422 naming the unknown code."""
    if matter is None:
        raise Invalid("unknown-category", f"未知的事项代码：{code}", f"Unknown category code {code} in {standard}")
    return matter


def find_matter(session: Session, standard: str, code: str) -> Matter:
    """The active matter with this code in the deployment's catalog, or a 422 (one query; see MatterCache)."""
    return matter_or_422(load_matters(session, standard, code).get(code), standard, code)


def needs_reads(body: ReportIn, key: str | None) -> bool:
    """Whether preparing this report reads the database (beyond a matter cache)."""
    return bool(key or body.component_id)


def place_label(ctx: Ctx, lon: float, lat: float) -> str | None:
    """The reverse-geocoded place of a pin ("永阳路 88号附近"), from the in-memory places index, or None."""
    found = places_index(ctx.reads, ctx.settings.places_recheck_seconds).reverse(lon, lat)
    return found["name"][:200] if found else None


def prepare(ctx: Ctx, body: ReportIn, locate: Locate, to_wgs84: ToWgs84, key: str | None,
            matters: Callable[[str], Matter | None] | None = None, verify: bool | None = None,
            required_due_at: datetime | None = None) -> Prepared | Case:
    """Check and locate a report using ctx.reads only (matters from the cache when given); a replay of an
    Idempotency-Key returns its case. `verify` overrides the source's default need for 核实 (channels decide);
    `required_due_at` fixes the handling deadline (上级交办)."""
    fingerprint = None  # only a retry under the same Idempotency-Key is ever compared with it
    if key:
        fingerprint = request_hash(body, ctx.photos)
        if (existing := find_by_key(ctx.reads, key, fingerprint)) is not None:
            return existing
    source = pick_source(ctx.actor, body.source)
    if body.self_handled and source != "inspector":
        raise Invalid("self-handled-inspector-only", "只有监督员可以上报自行处置案件", "Only inspectors report self-handled cases")
    standard = ctx.settings.catalog_standard
    matters = matters or ctx.matters
    matter = (matter_or_422(matters(body.category_code), standard, body.category_code) if matters
              else find_matter(ctx.reads, standard, body.category_code))
    lon, lat = to_wgs84(body.lon, body.lat, body.coord_sys)
    place = locate(lon, lat)
    if place is None:
        raise outside_error(locate)
    if body.component_id and ctx.reads.scalar(select(Component.id).where(Component.id == body.component_id)) is None:
        raise Invalid("unknown-component", f"未知部件标识码：{body.component_id}", f"Unknown component {body.component_id}")
    address = body.address or place_label(ctx, lon, lat)
    minutes = node_limit(ctx, "accept")
    due = due_at(ctx.cal, ctx.now, minutes, False)
    case = dict(FRESH, source=source, category_id=matter.id, category_code=matter.code, description=body.description,
                address=address, lon=lon, lat=lat, component_id=body.component_id, grid_code=place.grid_code,
                duty_grid_code=place.duty_grid_code, community_code=place.community_code,
                street_code=place.street_code, district_code=place.district_code, reporter_id=ctx.actor.id,
                reporter_name=body.reporter_name or (ctx.actor.display_name if source == "inspector" else None),
                reporter_phone=body.reporter_phone, self_handled=body.self_handled, created_at=ctx.now,
                needs_verification=(source not in TRUSTED_SOURCES) if verify is None else verify,
                required_due_at=required_due_at,
                updated_at=ctx.now, idempotency_key=key, request_hash=fingerprint, node_started_at=ctx.now,
                node_due_at=due, public_id=new_public_id())
    node = dict(node="accept", department_id=None, started_at=ctx.now, limit_minutes=minutes, urgent=False,
                due_at=due, extended_minutes=0)
    event = dict(seq=1, action="report", actor_id=ctx.actor.id, actor_name=ctx.actor.display_name,
                 actor_role=acting_role(ctx.actor, "report"), at=ctx.now, from_stage=None, to_stage="reported",
                 payload={"source": source, "category_code": matter.code, "self_handled": body.self_handled,
                          "coord_sys": body.coord_sys, "photos": len(ctx.photos)})
    decode(ctx.settings, ctx.photos)  # after every cheaper check: the costly part of an upload
    photos = [dict(event_seq=1, sha256=p.sha256, content_type=p.content_type, size_bytes=p.size_bytes,
                   width=p.width, height=p.height, created_at=ctx.now) for p in ctx.photos]
    day = ctx.now.astimezone(ZoneInfo(ctx.settings.timezone)).strftime("%Y%m%d")
    return Prepared(day, case, node, event, photos, matter.name, state_digest(case))


_NEXT_NUMBERS = text("INSERT INTO case_number_seq (day, last) VALUES (:d, :n) "
                     "ON CONFLICT (day) DO UPDATE SET last = case_number_seq.last + :n RETURNING last")
# SQLite: a day's numbers and the largest case id so far, in one statement.
_NUMBERS_AND_TOP_ID = text("INSERT INTO case_number_seq (day, last) VALUES (:d, :n) "
                           "ON CONFLICT (day) DO UPDATE SET last = case_number_seq.last + :n "
                           "RETURNING last, (SELECT coalesce(max(id), 0) FROM cases)")
# PostgreSQL: a day's numbers and the batch's case ids in one statement (one round trip, a fixed text the server
# keeps prepared), so the cases can then be inserted by executemany without RETURNING. The sequence is looked up
# once per statement (a sub-select), not once per id.
_NUMBERS_AND_IDS = text("WITH n AS (INSERT INTO case_number_seq (day, last) VALUES (:d, :n) "
                        "ON CONFLICT (day) DO UPDATE SET last = case_number_seq.last + :n RETURNING last) "
                        "SELECT (SELECT last FROM n), nextval((SELECT pg_get_serial_sequence('cases', 'id')::regclass)) "
                        "FROM generate_series(1, :k)")


_CASES, _NODES, _EVENTS, _PHOTOS = (cast(Table, m.__table__) for m in (Case, CaseNode, CaseEvent, CasePhoto))


def _counted(batch: list[Prepared]) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for p in batch:
        wanted[p.day] = wanted.get(p.day, 0) + 1
    return wanted


def _reserve(session: Session, wanted: dict[str, int]) -> tuple[dict[str, int], list[int] | None]:
    """Reserve each day's numbers; returns the first number of each day and the batch's case ids (None: the insert
    draws them).

    SQLite has one writer at a time: the counter row stays in the batch's transaction, numbers have no gaps, and the
    ids are the ones the insert would draw (rowids after the largest; cases has no AUTOINCREMENT), read in the same
    statement, so the cases go in with one executemany rather than a RETURNING statement per row. On PostgreSQL the
    day's counter row is bumped in a statement of its own (autocommit), so it is locked for that statement only, not
    until the batch commits — writers of several workers and hosts do not queue on it (a batch that fails leaves a
    gap)."""
    bind = session.get_bind()
    first: dict[str, int] = {}
    ids: list[int] | None = None
    if bind.dialect.name != "postgresql":
        for day, n in wanted.items():  # one day, except for a batch that straddles midnight
            if ids is None:
                last, top = session.execute(_NUMBERS_AND_TOP_ID, {"d": day, "n": n}).one()
                ids = list(range(top + 1, top + 1 + sum(wanted.values())))
            else:
                last = session.execute(_NEXT_NUMBERS, {"d": day, "n": n}).scalar_one()
            first[day] = last - n + 1
        return first, ids
    if not isinstance(bind, Engine):  # (tests bind sessions to a connection)
        for day, n in wanted.items():
            first[day] = session.execute(_NEXT_NUMBERS, {"d": day, "n": n}).scalar_one() - n + 1
        return first, None
    with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for day, n in wanted.items():
            if ids is None:
                rows = conn.execute(_NUMBERS_AND_IDS, {"d": day, "n": n, "k": sum(wanted.values())}).all()
                last, ids = rows[0][0], [row[1] for row in rows]
            else:
                last = conn.execute(_NEXT_NUMBERS, {"d": day, "n": n}).scalar_one()
            first[day] = last - n + 1
    return first, ids


def _numbers(settings: Settings, batch: list[Prepared], first: dict[str, int]) -> list[str]:
    """Case numbers for a batch: LA + local date + 5-digit daily sequence, from each day's first number."""
    out = []
    for p in batch:
        out.append(f"{settings.case_number_prefix}{p.day}{first[p.day]:05d}")
        first[p.day] += 1
    return out


def write(session: Session, batch: list[Prepared], settings: Settings) -> list[Case]:
    """Insert prepared reports (cases, first nodes, events, photos) without committing; returns the new cases
    as detached objects carrying every column."""
    # Everything that needs no number nor id is built before the first statement: on SQLite that statement takes
    # the write lock, which every worker process of the host queues on.
    rows = [dict(p.case) for p in batch]
    configure_mappers()  # (done once per process; new_instance below does not do it)
    cases = [_unsaved(row) for row in rows]
    states = [p.state or state_digest(p.case) for p in batch]
    key = audit_key(settings)
    first, ids = _reserve(session, _counted(batch))
    numbers = _numbers(settings, batch, first)
    hashes = [event_mac(key, "", n, state=st, **p.event) for p, n, st in zip(batch, numbers, states)]
    for row, case, n, h in zip(rows, cases, numbers, hashes):
        row["number"] = case.__dict__["number"] = n
        row["event_hash"] = case.__dict__["event_hash"] = h
    # Core inserts of the tables (the attribute names are the column names): the ORM's bulk path would cost more
    # Python per batch than the statements themselves.
    if ids is None:  # (PostgreSQL tests, whose sessions are bound to one connection: the insert draws them)
        ids = list(session.scalars(_CASES.insert().returning(_CASES.c.id, sort_by_parameter_order=True), rows).all())
        insert_tables(session, _children(batch, ids, hashes, states))
    else:  # the cases and their first nodes, events and photos at once
        for row, i in zip(rows, ids):
            row["id"] = i
        insert_tables(session, [(_CASES, rows), *_children(batch, ids, hashes, states)])
    for case, i in zip(cases, ids):
        case.__dict__["id"] = i
    hooks.emit(session, settings, [(c, p.event) for c, p in zip(cases, batch)])
    for p, c in zip(batch, cases):
        if p.after is not None:
            p.outcome = p.after(session, c)
    return cases


def _children(batch: list[Prepared], ids: list[int], hashes: list[str], states: list[str]
              ) -> list[tuple[Table, list[dict[str, Any]]]]:
    return [(_NODES, [dict(p.node, case_id=i) for p, i in zip(batch, ids)]),
            (_EVENTS, [dict(p.event, case_id=i, prev_hash="", hash=h, state_hash=st)
                       for p, i, h, st in zip(batch, ids, hashes, states)]),
            (_PHOTOS, [dict(ph, case_id=i) for p, i in zip(batch, ids) for ph in p.photos])]


def _unsaved(row: dict[str, Any]) -> Case:
    """A Case object holding these column values, filled as the ORM fills a loaded row (Case(**row) would
    record each value as a change, costing more than the row's insert); it belongs to no session."""
    case = manager_of_class(Case).new_instance()
    case.__dict__.update(row)
    return case


def report(ctx: Ctx, body: ReportIn, locate: Locate, to_wgs84: ToWgs84, key: str | None) -> tuple[Case, bool]:
    """上报 one report and commit; returns (case, created). The HTTP intake batches write() instead."""
    prepared = prepare(ctx, body, locate, to_wgs84, key)
    if isinstance(prepared, Case):
        return prepared, False
    try:
        case_id = write(ctx.session, [prepared], ctx.settings)[0].id
        ctx.session.commit()
    except IntegrityError:
        ctx.session.rollback()
        if key and (existing := find_by_key(ctx.session, key, prepared.case["request_hash"])) is not None:
            return existing, False
        raise
    return ctx.session.get_one(Case, case_id), True
