"""cases.required_due_at: a handling deadline fixed by an upper-level assignment (上级交办)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 13:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("required_due_at", cityloop.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("required_due_at")
