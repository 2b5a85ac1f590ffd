"""department_action_keys: Idempotency-Keys of the department app's case actions

Revision ID: j17m1
Revises: 0007
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa

from cityloop.db import UTCDateTime

revision = "j17m1"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "department_action_keys",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_department_action_keys_case_id_cases")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_department_action_keys_user_id_users")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_department_action_keys")),
    )
    op.create_index(op.f("ix_department_action_keys_case_id"), "department_action_keys", ["case_id"], unique=False)
    op.create_index(op.f("ix_department_action_keys_user_id"), "department_action_keys", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("department_action_keys")
