"""drop case indexes that cost every report a B-tree insert and serve no selective query

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:30:00
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DROPPED = [("cases", "ix_cases_source", ["source"]), ("cases", "ix_cases_category_id", ["category_id"]),
           ("cases", "ix_cases_street_code", ["street_code"]), ("cases", "ix_cases_district_code", ["district_code"]),
           ("cases", "ix_cases_overdue", ["overdue"]), ("case_events", "ix_case_events_case_id", ["case_id"])]


def upgrade() -> None:
    for table, name, _ in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in DROPPED:
        op.create_index(name, table, columns)
