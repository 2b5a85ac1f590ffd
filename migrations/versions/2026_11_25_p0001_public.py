"""public (公众服务): service points, QR placements, convenience records, 追呼 campaigns, calls and stop list

Revision ID: p0001
Revises: 0006
Create Date: 2026-11-25 12:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "p0001"
down_revision = "0006"
branch_labels = ("public",)
depends_on = None

UTC = cityloop.db.UTCDateTime(timezone=True)
JSON = cityloop.db.JSONType


def _fk(table: str, column: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    ref_table, ref_col = target.split(".")
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{ref_table}"),
                                   ondelete=ondelete)


def upgrade() -> None:
    t = "public_service_points"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_code", sa.String(length=12), nullable=True),
        sa.Column("hours", sa.String(length=100), nullable=True),
        sa.Column("free", sa.Boolean(), nullable=False),
        sa.Column("drinking_water", sa.Boolean(), nullable=False),
        sa.Column("accessible", sa.Boolean(), nullable=False),
        sa.Column("kit", JSON, nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("component_id", sa.String(length=17), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        _fk(t, "component_id", "components.id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("code", name=op.f(f"uq_{t}_code")),
    )
    op.create_index(op.f(f"ix_{t}_kind"), t, ["kind"])
    op.create_index(op.f(f"ix_{t}_grid_code"), t, ["grid_code"])

    t = "public_qr_placements"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("batch", sa.String(length=40), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("last_scan_at", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        _fk(t, "service_point_id", "public_service_points.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("code", name=op.f(f"uq_{t}_code")),
    )
    op.create_index(op.f(f"ix_{t}_batch"), t, ["batch"])

    t = "public_convenience_records"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=True),
        sa.Column("claimed_at", UTC, nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("handed_to", sa.String(length=100), nullable=True),
        sa.Column("thanks_letters", sa.Integer(), nullable=False),
        sa.Column("banners", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_by_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        _fk(t, "service_point_id", "public_service_points.id", "SET NULL"),
        _fk(t, "recorded_by", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_kind"), t, ["kind"])
    op.create_index(op.f(f"ix_{t}_at"), t, ["at"])

    t = "public_call_campaigns"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("plan", JSON, nullable=False),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("started_by_name", sa.String(length=100), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("stopped_by", sa.Integer(), nullable=True),
        sa.Column("stopped_by_name", sa.String(length=100), nullable=True),
        sa.Column("stopped_at", UTC, nullable=True),
        sa.Column("stop_reason", sa.String(length=24), nullable=True),
        sa.Column("stop_note", sa.Text(), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("last_call_at", UTC, nullable=True),
        sa.Column("next_call_at", UTC, nullable=True),
        _fk(t, "case_id", "cases.id"),
        _fk(t, "started_by", "users.id"),
        _fk(t, "stopped_by", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    for column in ("case_id", "phone", "status", "next_call_at"):
        op.create_index(op.f(f"ix_{t}_{column}"), t, [column])

    t = "public_call_attempts"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("day_no", sa.Integer(), nullable=False),
        sa.Column("recording", sa.String(length=200), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("gateway_ref", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        _fk(t, "campaign_id", "public_call_campaigns.id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_campaign_id"), t, ["campaign_id"])

    t = "public_call_stop_list"
    op.create_table(
        t,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_by_name", sa.String(length=100), nullable=False),
        sa.Column("added_at", UTC, nullable=False),
        _fk(t, "added_by", "users.id"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("phone", name=op.f(f"uq_{t}_phone")),
    )


def downgrade() -> None:
    for table in ("public_call_stop_list", "public_call_attempts", "public_call_campaigns",
                  "public_convenience_records", "public_qr_placements", "public_service_points"):
        op.drop_table(table)
