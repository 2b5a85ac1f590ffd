"""keyed audit: event MACs over the case state, one global chain over events and admin entries

Revision ID: h19e1
Revises: 0007
Create Date: 2026-12-03 07:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "h19e1"
down_revision = "0007"
branch_labels = None
depends_on = None

UNSEALED = sa.text("chain_seq IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.alter_column("state_hash", server_default=None)
        batch_op.create_index("ix_case_events_unsealed", ["id"], unique=False, sqlite_where=UNSEALED,
                              postgresql_where=UNSEALED)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_seq", sa.Integer(), nullable=True))
        batch_op.create_index("ix_audit_log_unsealed", ["id"], unique=False, sqlite_where=UNSEALED,
                              postgresql_where=UNSEALED)
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    _remac()


def _remac() -> None:
    # The existing history was chained with unkeyed SHA-256: re-MAC it with the audit key in effect now (the
    # sealer then links it into the global chain). An empty database needs no key.
    from cityloop.audit.keys import audit_key
    from cityloop.cases.domain import STATE_FIELDS, event_mac, state_digest
    from cityloop.config import get_settings

    conn = op.get_bind()
    ev = sa.table("case_events", sa.column("id"), sa.column("case_id"), sa.column("seq"), sa.column("action"),
                  sa.column("actor_id"), sa.column("actor_name"), sa.column("actor_role"),
                  sa.column("at", cityloop.db.UTCDateTime()), sa.column("from_stage"), sa.column("to_stage"),
                  sa.column("payload", sa.JSON()), sa.column("prev_hash"), sa.column("hash"), sa.column("state_hash"))
    from cityloop.cases.models import Case

    # The covered columns with their types (booleans and timestamps read back exactly as the ORM reads them).
    cases = sa.table("cases", sa.column("id"), sa.column("number"), sa.column("event_hash"),
                     *(sa.column(f, Case.__table__.c[f].type) for f in STATE_FIELDS))
    if conn.execute(sa.select(ev.c.id).limit(1)).first() is None:
        return
    key = audit_key(get_settings())
    last = 0
    while True:
        rows = conn.execute(sa.select(cases).where(cases.c.id > last).order_by(cases.c.id).limit(2000)).mappings().all()
        if not rows:
            return
        by_case: dict[int, list] = {}
        for e in conn.execute(sa.select(ev).where(ev.c.case_id.in_([r["id"] for r in rows]))
                              .order_by(ev.c.case_id, ev.c.seq)).mappings():
            by_case.setdefault(e["case_id"], []).append(e)
        for row in rows:
            prev, events = "", by_case.get(row["id"], [])
            for i, e in enumerate(events):
                state = state_digest(row) if i == len(events) - 1 else ""
                mac = event_mac(key, prev, row["number"], e["seq"], e["action"], e["actor_id"], e["actor_name"],
                                e["actor_role"], e["at"], e["from_stage"], e["to_stage"], e["payload"] or {}, state)
                conn.execute(sa.update(ev).where(ev.c.id == e["id"]).values(prev_hash=prev, hash=mac, state_hash=state))
                prev = mac
            conn.execute(sa.update(cases).where(cases.c.id == row["id"]).values(event_hash=prev))
        last = rows[-1]["id"]


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_unsealed")
        batch_op.drop_column("chain_seq")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index("ix_case_events_unsealed")
        batch_op.drop_column("chain_seq")
        batch_op.drop_column("state_hash")
