"""cases.public_id (the random id the public sees), case_photos.public and channel_reports.media_public (photos
published only after staff review)

Revision ID: h19o1
Revises: 0007
Create Date: 2026-12-03 07:00:00
"""
import base64
import secrets

from alembic import op
import sqlalchemy as sa

revision = "h19o1"
down_revision = "0007"
branch_labels = None
depends_on = ("c0001",)  # channel_reports


def _public_id() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()  # as cityloop.cases.domain.new_public_id


def upgrade() -> None:
    op.add_column("cases", sa.Column("public_id", sa.String(24), nullable=True))
    cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("public_id", sa.String))
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.select(cases.c.id))]
    update = sa.update(cases).where(cases.c.id == sa.bindparam("case_id")).values(public_id=sa.bindparam("pid"))
    for start in range(0, len(ids), 5000):
        bind.execute(update, [{"case_id": i, "pid": _public_id()} for i in ids[start:start + 5000]])
    # A unique index, not a rebuilt table: on SQLite a rebuild of `cases` fails on the rows that reference it.
    op.create_index("ix_cases_public_id", "cases", ["public_id"], unique=True)
    op.add_column("case_photos", sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("channel_reports", sa.Column("media_public", sa.Boolean(), nullable=False,
                                               server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("channel_reports", "media_public")
    op.drop_column("case_photos", "public")
    op.drop_index("ix_cases_public_id", table_name="cases")
    op.drop_column("cases", "public_id")  # plain ALTER TABLE … DROP COLUMN: a rebuild would trip the foreign keys
