"""workorders: 12345 工单 received and the outbox of messages back to the 12345 platform

Revision ID: j17w1
Revises: 0007
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa

from cityloop.db import JSONType, UTCDateTime

revision = "j17w1"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workorders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_no", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=128), nullable=True),
        sa.Column("raw", JSONType, nullable=False),
        sa.Column("fields", JSONType, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("return_reason", sa.String(length=500), nullable=True),
        sa.Column("deadline", UTCDateTime(timezone=True), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_workorders_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workorders")),
        sa.UniqueConstraint("external_no", name=op.f("uq_workorders_external_no")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_workorders_delivery_id")),
        sa.UniqueConstraint("case_id", name=op.f("uq_workorders_case_id")),
    )
    op.create_index(op.f("ix_workorders_status"), "workorders", ["status"], unique=False)
    op.create_table(
        "workorder_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workorder_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("body", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["workorder_id"], ["workorders.id"],
                                name=op.f("fk_workorder_messages_workorder_id_workorders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workorder_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_workorder_messages_dedupe_key")),
    )
    op.create_index(op.f("ix_workorder_messages_workorder_id"), "workorder_messages", ["workorder_id"], unique=False)
    op.create_index("ix_workorder_messages_pending", "workorder_messages", ["sent_at", "next_attempt_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_table("workorder_messages")
    op.drop_table("workorders")
