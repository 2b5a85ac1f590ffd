"""assessment (综合评价): per-case counters projection, its progress, published periods

Revision ID: a0001
Revises: 0006
Create Date: 2026-11-25 12:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "a0001"
down_revision = "0006"
branch_labels = ("assessment",)
depends_on = None

UTC = cityloop.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    ints = ["department_id", "return_department_id", "reporter_id", "operator_id", "verifier_id", "filer_id",
            "dispatcher_id", "checker_id", "closer_id"]
    op.create_table(
        "assess_case_stats",
        sa.Column("assess_ts", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("pending_ts", sa.BigInteger(), nullable=False),
        sa.Column("flags", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.BigInteger(), nullable=False),
        sa.Column("grid", sa.BigInteger(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in ints],
        sa.Column("packed", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("category_code", sa.String(length=8), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("assess_ts", "case_id", name=op.f("pk_assess_case_stats")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_assess_case_stats_case_id", "assess_case_stats", ["case_id"], unique=True)
    op.create_table(
        "assess_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("refreshed_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assess_state")),
    )
    op.create_table(
        "assess_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("published_at", UTC, nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTC, nullable=False),
        sa.Column("results", cityloop.db.JSONType, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assess_publications")),
        sa.UniqueConstraint("period", name=op.f("uq_assess_publications_period")),
    )


def downgrade() -> None:
    op.drop_table("assess_publications")
    op.drop_table("assess_state")
    op.drop_index("ix_assess_case_stats_case_id", table_name="assess_case_stats")
    op.drop_table("assess_case_stats")
