"""Cases, their immutable events, per-node deadlines, inspector tasks, department requests and photos."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from cityloop.cases.domain import new_public_id
from cityloop.db import Base, JSONType, UTCDateTime


class Case(Base):
    """案件: one problem run through the closed loop.

    Every index costs each report a B-tree insert; low-selectivity columns (source, overdue, street, district)
    are left unindexed and read by scans in the periodic statistics."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_stage_due", "stage", "node_due_at"),  # open stages in deadline order
                      Index("ix_cases_category_created", "category_code", "created_at"))  # one matter, recently

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    stage: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    category_code: Mapped[str] = mapped_column(String(8))
    filing_condition_id: Mapped[int | None] = mapped_column(ForeignKey("filing_conditions.id"))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    component_id: Mapped[str | None] = mapped_column(ForeignKey("components.id"))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(256))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    duty_grid_code: Mapped[str | None] = mapped_column(String(32), index=True)
    community_code: Mapped[str] = mapped_column(String(12))
    street_code: Mapped[str] = mapped_column(String(12))
    district_code: Mapped[str] = mapped_column(String(12))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    last_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    suggested_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    routing_reason: Mapped[str | None] = mapped_column(Text)
    needs_ownership: Mapped[bool] = mapped_column(Boolean, default=False)  # 待确权 (属地兜底)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    reporter_phone: Mapped[str | None] = mapped_column(String(32))
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Decided at intake: public, hotline and low-confidence video reports are verified on site (核实) first.
    needs_verification: Mapped[bool] = mapped_column(Boolean, default=False)
    # 上级交办: a handling deadline fixed by whoever assigned the case (else the filing condition decides).
    required_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    pending_request: Mapped[str | None] = mapped_column(String(16))
    node: Mapped[str | None] = mapped_column(String(16))
    node_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    node_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    node_urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    suspension_count: Mapped[int] = mapped_column(Integer, default=0)
    wrong_dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    supervise_count: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    event_hash: Mapped[str] = mapped_column(String(64), default="")  # the hash of the case's newest event
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # The id the public sees (Open311 service_request_id): random, so reports cannot be listed by counting. Always
    # filled (default and migration); nullable in the schema only because SQLite cannot add NOT NULL to a table
    # that other tables reference without rebuilding it.
    public_id: Mapped[str | None] = mapped_column(String(24), index=True, unique=True, default=new_public_id)
    # City mode (两级指挥): the district center handling the case (6-digit code); null = the city center's case.
    handling_district: Mapped[str | None] = mapped_column(String(12), index=True)
    # 回退 to the previous node (派遣员 → 值班长, 值班长 → 受理员); a department's approved 回退 is return_count.
    send_back_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    close_type: Mapped[str | None] = mapped_column(String(16))  # 结案类型: normal | overtime | void | special


class CaseEvent(Base):
    """One action on a case; appended, never updated."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),
                      # Only the events not yet in the global chain: the sealer finds them without a scan.
                      Index("ix_case_events_unsealed", "id", sqlite_where=text("chain_seq IS NULL"),
                            postgresql_where=text("chain_seq IS NULL")),
                      Index("ix_case_events_action_at", "action", "at"))  # the big screen's closures per day

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))  # led by uq(case_id, seq)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")  # the case's previous event ("" for the first)
    hash: Mapped[str] = mapped_column(String(64), default="")  # keyed: cases.domain.event_mac
    state_hash: Mapped[str] = mapped_column(String(64), default="")  # the case row after this event (state_digest)
    chain_seq: Mapped[int | None] = mapped_column(Integer)  # position in the global audit chain, once sealed


class CaseNode(Base):
    """One run of a workflow node (受理, 核实, 立案, 派遣, 处置, 核查, 结案) with its stored deadline."""

    __tablename__ = "case_nodes"
    __table_args__ = (Index("ix_case_nodes_node_ended", "node", "ended_at"),)  # this month's runs of a node

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    node: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    limit_minutes: Mapped[int] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    overdue_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extended_minutes: Mapped[int] = mapped_column(Integer, default=0)


class CaseTask(Base):
    """A 核实 or 核查 task for an inspector of the case's duty grid."""

    __tablename__ = "case_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # verify | check
    duty_grid_code: Mapped[str | None] = mapped_column(String(32))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | done | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(16))


class CaseRequest(Base):
    """A department's request (回退, 延期, 挂账) waiting for the dispatcher."""

    __tablename__ = "case_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # return | extension | suspension
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    extension_minutes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | denied
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class CasePhoto(Base):
    """A photo attached at report, verify, handle or check; content-addressed on disk."""

    __tablename__ = "case_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    event_seq: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Shown to the public (Open311 media_url) only once staff have looked at it (faces, number plates).
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CaseNumberSeq(Base):
    """Daily counter behind human-readable case numbers."""

    __tablename__ = "case_number_seq"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class SavedFilter(Base):
    """A user's named case search (the query string of /console/cases); private to that user."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseSupervision(Base):
    """督办单: a unit told to act on a case, which replies by a deadline; the leader's 督查 closes or returns it."""

    __tablename__ = "case_supervisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    repeat: Mapped[int] = mapped_column(Integer, default=1)  # the n-th 督办单 of this case to this unit
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | replied | closed
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # unanswered by the deadline
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_note: Mapped[str | None] = mapped_column(Text)


class CaseAssist(Base):
    """协办任务: a helper department's part of a case led (主办) by the case's department."""

    __tablename__ = "case_assists"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    task: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | done | lapsed | cancelled
    result: Mapped[str | None] = mapped_column(Text)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
