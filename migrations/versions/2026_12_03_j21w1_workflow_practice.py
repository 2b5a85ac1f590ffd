"""Workflow practice: 回退 to the previous node, 结案类型, 督办单 and 协办 tasks

Revision ID: j21w1
Revises: 0007
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa

from cityloop.db import UTCDateTime

revision = "j21w1"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (never a batch rebuild of cases on SQLite: other tables reference it).
    op.add_column("cases", sa.Column("send_back_count", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("cases", sa.Column("close_type", sa.String(length=16), nullable=True))
    op.create_table(
        "case_supervisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_by", sa.Integer(), nullable=True),
        sa.Column("replied_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("overdue_marked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_by", sa.Integer(), nullable=True),
        sa.Column("checked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("check_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_supervisions_case_id_cases")),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_case_supervisions_department_id_departments")),
        sa.ForeignKeyConstraint(["issued_by"], ["users.id"], name=op.f("fk_case_supervisions_issued_by_users")),
        sa.ForeignKeyConstraint(["replied_by"], ["users.id"], name=op.f("fk_case_supervisions_replied_by_users")),
        sa.ForeignKeyConstraint(["checked_by"], ["users.id"], name=op.f("fk_case_supervisions_checked_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_supervisions")),
    )
    for col in ("case_id", "department_id", "due_at", "status"):
        op.create_index(op.f(f"ix_case_supervisions_{col}"), "case_supervisions", [col], unique=False)
    op.create_table(
        "case_assists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_assists_case_id_cases")),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_case_assists_department_id_departments")),
        sa.ForeignKeyConstraint(["done_by"], ["users.id"], name=op.f("fk_case_assists_done_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_assists")),
    )
    for col in ("case_id", "department_id", "status"):
        op.create_index(op.f(f"ix_case_assists_{col}"), "case_assists", [col], unique=False)


def downgrade() -> None:
    op.drop_table("case_assists")
    op.drop_table("case_supervisions")
    op.drop_column("cases", "close_type")
    op.drop_column("cases", "send_back_count")
