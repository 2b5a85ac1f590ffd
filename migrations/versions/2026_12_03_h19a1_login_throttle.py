"""login_throttle: login attempt counters per client IP, per account and per (account, IP), shared by every worker
and host; users.token_version: bumped on logout or password change, so older tokens stop working at once

Revision ID: h19a1
Revises: 0007
Create Date: 2026-12-03 07:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "h19a1"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("blocked_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttle_username"), ["username"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_throttle_last_at"), ["last_at"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("users", "token_version")  # plain ALTER TABLE … DROP COLUMN: a rebuild would trip the foreign keys
    op.drop_table("login_throttle")
