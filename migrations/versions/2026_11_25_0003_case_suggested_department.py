"""cases.suggested_department_id: the routing suggestion made at 立案, shown to the dispatcher

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested_department_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_cases_suggested_department_id_departments"), "departments",
                                    ["suggested_department_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_suggested_department_id_departments"), type_="foreignkey")
        batch_op.drop_column("suggested_department_id")
