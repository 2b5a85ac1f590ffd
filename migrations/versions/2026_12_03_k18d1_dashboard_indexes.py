"""indexes for the lists and dashboards that must not grow with the case history

Revision ID: k18d1
Revises: 0007
Create Date: 2026-12-03 14:20:00

- cases (stage, node_due_at) replaces cases (stage): the review queue and inboxes read open stages in deadline
  order, the big screen counts overdue open cases — a range per open stage, never the closed history.
- cases (category_code, created_at): duplicate suggestions (same matter, recent, nearby) and the month's top
  categories read a short recent range of one matter.
- case_nodes (node, ended_at): the month's department ranking reads this month's handling runs only.
- case_events (action, at): today's and the month's closures (filed, dispatched) without the other events.
"""
from alembic import op

revision = "k18d1"
down_revision = "0007"
branch_labels = None
depends_on = None

ADDED = [("cases", "ix_cases_stage_due", ["stage", "node_due_at"]),
         ("cases", "ix_cases_category_created", ["category_code", "created_at"]),
         ("case_nodes", "ix_case_nodes_node_ended", ["node", "ended_at"]),
         ("case_events", "ix_case_events_action_at", ["action", "at"])]


def upgrade() -> None:
    for table, name, columns in ADDED:
        op.create_index(name, table, columns)
    op.drop_index("ix_cases_stage", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_stage", "cases", ["stage"])
    for table, name, _ in ADDED:
        op.drop_index(name, table_name=table)
