"""fleet (渣土车监管): companies, vehicles, drivers, sites, zones, permits, positions (partitioned by day on
PostgreSQL), violations and appeals

Revision ID: f0001
Revises: 0006
Create Date: 2026-11-25 15:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "f0001"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "fleet_companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("contact_name", sa.String(length=50), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_companies")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_fleet_companies_credit_code")),
    )
    op.create_table(
        "fleet_company_users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["fleet_companies.id"],
                                name=op.f("fk_fleet_company_users_company_id_fleet_companies")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_fleet_company_users_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_fleet_company_users")),
    )
    op.create_index(op.f("ix_fleet_company_users_company_id"), "fleet_company_users", ["company_id"])
    op.create_table(
        "fleet_vehicles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("plate_color", sa.SmallInteger(), nullable=False),
        sa.Column("load_type", sa.String(length=16), nullable=False),
        sa.Column("sealed", sa.Boolean(), nullable=False),
        sa.Column("load_sensor", sa.Boolean(), nullable=False),
        sa.Column("terminal_id", sa.String(length=30), nullable=True),
        sa.Column("terminal_phone", sa.String(length=20), nullable=False),
        sa.Column("coord_sys", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=True),
        sa.Column("last_lon", sa.Float(), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_speed", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["fleet_companies.id"],
                                name=op.f("fk_fleet_vehicles_company_id_fleet_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_vehicles")),
        sa.UniqueConstraint("plate", name=op.f("uq_fleet_vehicles_plate")),
        sa.UniqueConstraint("terminal_phone", name=op.f("uq_fleet_vehicles_terminal_phone")),
    )
    op.create_index(op.f("ix_fleet_vehicles_company_id"), "fleet_vehicles", ["company_id"])
    op.create_table(
        "fleet_drivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("license_no", sa.String(length=32), nullable=True),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["fleet_companies.id"],
                                name=op.f("fk_fleet_drivers_company_id_fleet_companies")),
        sa.ForeignKeyConstraint(["vehicle_id"], ["fleet_vehicles.id"],
                                name=op.f("fk_fleet_drivers_vehicle_id_fleet_vehicles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_drivers")),
    )
    op.create_index(op.f("ix_fleet_drivers_company_id"), "fleet_drivers", ["company_id"])
    op.create_table(
        "fleet_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["fleet_companies.id"],
                                name=op.f("fk_fleet_sites_company_id_fleet_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_sites")),
    )
    op.create_table(
        "fleet_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("width_m", sa.Float(), nullable=True),
        sa.Column("speed_limit", sa.Float(), nullable=True),
        sa.Column("hours", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_zones")),
    )
    op.create_table(
        "fleet_permits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("from_site_id", sa.Integer(), nullable=False),
        sa.Column("to_site_id", sa.Integer(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("corridor_m", sa.Float(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("hours", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("applied_by", sa.Integer(), nullable=True),
        sa.Column("applied_at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", cityloop.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["applied_by"], ["users.id"], name=op.f("fk_fleet_permits_applied_by_users")),
        sa.ForeignKeyConstraint(["company_id"], ["fleet_companies.id"],
                                name=op.f("fk_fleet_permits_company_id_fleet_companies")),
        sa.ForeignKeyConstraint(["from_site_id"], ["fleet_sites.id"],
                                name=op.f("fk_fleet_permits_from_site_id_fleet_sites")),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"], name=op.f("fk_fleet_permits_reviewed_by_users")),
        sa.ForeignKeyConstraint(["to_site_id"], ["fleet_sites.id"], name=op.f("fk_fleet_permits_to_site_id_fleet_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_permits")),
        sa.UniqueConstraint("number", name=op.f("uq_fleet_permits_number")),
    )
    op.create_index(op.f("ix_fleet_permits_company_id"), "fleet_permits", ["company_id"])
    op.create_index(op.f("ix_fleet_permits_status"), "fleet_permits", ["status"])
    op.create_table(
        "fleet_permit_vehicles",
        sa.Column("permit_id", sa.Integer(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["permit_id"], ["fleet_permits.id"],
                                name=op.f("fk_fleet_permit_vehicles_permit_id_fleet_permits"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["fleet_vehicles.id"],
                                name=op.f("fk_fleet_permit_vehicles_vehicle_id_fleet_vehicles")),
        sa.PrimaryKeyConstraint("permit_id", "vehicle_id", name=op.f("pk_fleet_permit_vehicles")),
    )
    op.create_index(op.f("ix_fleet_permit_vehicles_vehicle_id"), "fleet_permit_vehicles", ["vehicle_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SCHEMA IF NOT EXISTS fleet_parts")  # the daily partitions live here
    op.create_table(
        "fleet_positions",
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("t", sa.BigInteger(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("heading", sa.SmallInteger(), nullable=False),
        sa.Column("alarm", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.BigInteger(), nullable=False),
        sa.Column("flags", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_id", "t", name=op.f("pk_fleet_positions")),
        postgresql_partition_by="RANGE (t)",
    )
    op.create_table(
        "fleet_violations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("permit_id", sa.Integer(), nullable=True),
        sa.Column("started_at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detected_at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", cityloop.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("appeal_due_at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("case_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_fleet_violations_case_id_cases")),
        sa.ForeignKeyConstraint(["company_id"], ["fleet_companies.id"],
                                name=op.f("fk_fleet_violations_company_id_fleet_companies")),
        sa.ForeignKeyConstraint(["permit_id"], ["fleet_permits.id"],
                                name=op.f("fk_fleet_violations_permit_id_fleet_permits")),
        sa.ForeignKeyConstraint(["vehicle_id"], ["fleet_vehicles.id"],
                                name=op.f("fk_fleet_violations_vehicle_id_fleet_vehicles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_violations")),
        sa.UniqueConstraint("key", name=op.f("uq_fleet_violations_key")),
    )
    op.create_index(op.f("ix_fleet_violations_company_id"), "fleet_violations", ["company_id"])
    op.create_index(op.f("ix_fleet_violations_kind"), "fleet_violations", ["kind"])
    op.create_index(op.f("ix_fleet_violations_started_at"), "fleet_violations", ["started_at"])
    op.create_index(op.f("ix_fleet_violations_vehicle_id"), "fleet_violations", ["vehicle_id"])
    op.create_table(
        "fleet_appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("files", JSON, nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=False),
        sa.Column("submitted_at", cityloop.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", cityloop.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["fleet_companies.id"],
                                name=op.f("fk_fleet_appeals_company_id_fleet_companies")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_fleet_appeals_decided_by_users")),
        sa.ForeignKeyConstraint(["submitted_by"], ["users.id"], name=op.f("fk_fleet_appeals_submitted_by_users")),
        sa.ForeignKeyConstraint(["violation_id"], ["fleet_violations.id"],
                                name=op.f("fk_fleet_appeals_violation_id_fleet_violations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_appeals")),
        sa.UniqueConstraint("violation_id", name=op.f("uq_fleet_appeals_violation_id")),
    )
    op.create_index(op.f("ix_fleet_appeals_company_id"), "fleet_appeals", ["company_id"])
    op.create_table(
        "fleet_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_state")),
    )


def downgrade() -> None:
    for table in ("fleet_state", "fleet_appeals", "fleet_violations", "fleet_positions", "fleet_permit_vehicles",
                  "fleet_permits", "fleet_zones", "fleet_sites", "fleet_drivers", "fleet_vehicles",
                  "fleet_company_users", "fleet_companies"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS fleet_parts CASCADE")
