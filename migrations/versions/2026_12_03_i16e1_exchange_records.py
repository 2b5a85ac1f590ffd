"""exchange_records: component census changes and alarm summaries from linked platforms (also merges heads)

Revision ID: i16e1
Revises: j21c1, j21w1
Create Date: 2026-12-03 14:30:00
"""
from alembic import op
import sqlalchemy as sa

from cityloop.db import JSONType, UTCDateTime

revision = "i16e1"
down_revision = ("j21c1", "j21w1")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_records")),
        sa.UniqueConstraint("platform", "kind", "key", name=op.f("uq_exchange_records_platform")),
    )
    op.create_index(op.f("ix_exchange_records_kind"), "exchange_records", ["kind"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_exchange_records_kind"), table_name="exchange_records")
    op.drop_table("exchange_records")
