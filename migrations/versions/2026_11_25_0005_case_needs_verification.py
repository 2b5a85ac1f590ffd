"""cases.needs_verification: whether 受理 sends the case to 核实, decided per case at intake

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needs_verification", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE cases SET needs_verification = (source NOT IN ('inspector', 'assigned', 'sensor', 'fleet'))")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("needs_verification", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("needs_verification")
