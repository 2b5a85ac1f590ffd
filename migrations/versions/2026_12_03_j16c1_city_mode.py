"""city mode: users.district_code (district center scope), cases.handling_district (level), level_rules

Revision ID: j16c1
Revises: 0007
Create Date: 2026-12-03 11:00:00
"""
from alembic import op
import sqlalchemy as sa

from cityloop.db import UTCDateTime

revision = "j16c1"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain add_column / create_index: never a batch rebuild of users or cases on SQLite.
    op.add_column("users", sa.Column("district_code", sa.String(length=12), nullable=True))
    op.create_index(op.f("ix_users_district_code"), "users", ["district_code"], unique=False)
    op.add_column("cases", sa.Column("handling_district", sa.String(length=12), nullable=True))
    op.create_index(op.f("ix_cases_handling_district"), "cases", ["handling_district"], unique=False)
    op.create_table(
        "level_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=8), nullable=True),
        sa.Column("area_code", sa.String(length=12), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_level_rules")),
    )


def downgrade() -> None:
    op.drop_table("level_rules")
    op.drop_index(op.f("ix_cases_handling_district"), table_name="cases")
    op.drop_column("cases", "handling_district")
    op.drop_index(op.f("ix_users_district_code"), table_name="users")
    op.drop_column("users", "district_code")
