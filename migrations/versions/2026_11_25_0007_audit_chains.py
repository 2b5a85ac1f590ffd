"""tamper-evident history: hash chains over case events, and a hash-chained log of administrative changes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 15:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=False, server_default=""))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_hash", sa.String(length=64), nullable=False, server_default=""))
    _backfill()
    for table, columns in (("case_events", ("prev_hash", "hash")), ("cases", ("event_hash",))):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, server_default=None)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )


def _backfill() -> None:
    # Chain the events a database already holds, so that `cityloop audit verify` starts from an intact history.
    from cityloop.cases.domain import event_hash

    conn = op.get_bind()
    events = sa.table("case_events", sa.column("id"), sa.column("case_id"), sa.column("seq"), sa.column("action"),
                      sa.column("actor_id"), sa.column("actor_name"), sa.column("actor_role"),
                      sa.column("at", cityloop.db.UTCDateTime()), sa.column("from_stage"), sa.column("to_stage"),
                      sa.column("payload", sa.JSON()), sa.column("prev_hash"), sa.column("hash"))
    cases = sa.table("cases", sa.column("id"), sa.column("number"), sa.column("event_hash"))
    numbers = dict(conn.execute(sa.select(cases.c.id, cases.c.number)).all())
    heads: dict[int, str] = {}
    rows = conn.execute(sa.select(events).order_by(events.c.case_id, events.c.seq)).mappings().all()
    for row in rows:
        prev = heads.get(row["case_id"], "")
        digest = event_hash(prev, numbers[row["case_id"]], row["seq"], row["action"], row["actor_id"],
                            row["actor_name"], row["actor_role"], row["at"], row["from_stage"], row["to_stage"],
                            row["payload"] or {})
        conn.execute(sa.update(events).where(events.c.id == row["id"]).values(prev_hash=prev, hash=digest))
        heads[row["case_id"]] = digest
    for case_id, digest in heads.items():
        conn.execute(sa.update(cases).where(cases.c.id == case_id).values(event_hash=digest))


def downgrade() -> None:
    op.drop_table("audit_head")
    op.drop_table("audit_log")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("event_hash")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
