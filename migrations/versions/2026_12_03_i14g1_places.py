"""places (地理编码): roads as lines with house-number ranges, door-plate addresses

Revision ID: i14g1
Revises: 0007
Create Date: 2026-12-03 07:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = "i14g1"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "place_roads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("town", sa.String(length=100), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("left_from", sa.Integer(), nullable=True),
        sa.Column("left_to", sa.Integer(), nullable=True),
        sa.Column("right_from", sa.Integer(), nullable=True),
        sa.Column("right_to", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_roads")),
    )
    op.create_index(op.f("ix_place_roads_name"), "place_roads", ["name"])
    op.create_index(op.f("ix_place_roads_source"), "place_roads", ["source"])
    op.create_table(
        "place_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("road", sa.String(length=100), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("town", sa.String(length=100), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_addresses")),
    )
    op.create_index(op.f("ix_place_addresses_road"), "place_addresses", ["road"])
    op.create_index(op.f("ix_place_addresses_source"), "place_addresses", ["source"])


def downgrade() -> None:
    op.drop_table("place_addresses")
    op.drop_table("place_roads")
