"""sensors (运行监测): devices, readings (monthly partitions on PostgreSQL), rollups, rule state, alarms,
public warnings, counters

Revision ID: s0001
Revises: 0006
Create Date: 2026-11-25 10:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "s0001"
down_revision = "0006"
branch_labels = ("sensors",)
depends_on = None

UTC = cityloop.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sensor_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("context", sa.String(length=20), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("cover_type", sa.String(length=5), nullable=True),
        sa.Column("component_id", sa.String(length=17), nullable=True),
        sa.Column("rule_overrides", cityloop.db.JSONType, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=True),
        sa.Column("last_values", cityloop.db.JSONType, nullable=True),
        sa.ForeignKeyConstraint(["component_id"], ["components.id"],
                                name=op.f("fk_sensor_devices_component_id_components")),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"],
                                name=op.f("fk_sensor_devices_department_id_departments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_devices")),
        sa.UniqueConstraint("code", name=op.f("uq_sensor_devices_code")),
    )
    op.create_index(op.f("ix_sensor_devices_grid_code"), "sensor_devices", ["grid_code"])
    op.create_index(op.f("ix_sensor_devices_type"), "sensor_devices", ["type"])
    op.create_table(
        "sensor_readings",
        sa.Column("device_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("depth_cm", sa.Float(), nullable=True),
        sa.Column("tilt_deg", sa.Float(), nullable=True),
        sa.Column("open", sa.SmallInteger(), nullable=True),
        sa.Column("battery_pct", sa.Float(), nullable=True),
        sa.Column("pm25", sa.Float(), nullable=True),
        sa.Column("pm10", sa.Float(), nullable=True),
        sa.Column("leq_db", sa.Float(), nullable=True),
        sa.Column("rain_mm_h", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", "ts", name=op.f("pk_sensor_readings")),
        postgresql_partition_by="RANGE (ts)",
    )
    op.create_index("ix_sensor_readings_ts", "sensor_readings", ["ts"])
    if op.get_bind().dialect.name == "postgresql":
        # Partitions live in their own schema so they never look like unknown tables in public.
        op.execute("CREATE SCHEMA IF NOT EXISTS sensor_partitions")
    op.create_table(
        "sensor_rollups",
        sa.Column("device_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("metric", sa.String(length=16), nullable=False),
        sa.Column("step_s", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("avg", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "metric", "step_s", "bucket", name=op.f("pk_sensor_rollups")),
    )
    op.create_table(
        "sensor_rule_states",
        sa.Column("device_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rule_code", sa.String(length=32), nullable=False),
        sa.Column("state", cityloop.db.JSONType, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "rule_code", name=op.f("pk_sensor_rule_states")),
    )
    op.create_table(
        "sensor_alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("rule_code", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("peak_value", sa.Float(), nullable=True),
        sa.Column("raised_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("acknowledged_at", UTC, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("cleared_at", UTC, nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("episode_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_sensor_alarms_case_id_cases")),
        sa.ForeignKeyConstraint(["device_id"], ["sensor_devices.id"],
                                name=op.f("fk_sensor_alarms_device_id_sensor_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_alarms")),
        sa.UniqueConstraint("device_id", "rule_code", "is_open", name="uq_sensor_alarms_open"),
    )
    op.create_index(op.f("ix_sensor_alarms_case_id"), "sensor_alarms", ["case_id"])
    op.create_index(op.f("ix_sensor_alarms_device_id"), "sensor_alarms", ["device_id"])
    op.create_index(op.f("ix_sensor_alarms_state"), "sensor_alarms", ["state"])
    op.create_table(
        "sensor_alarm_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("payload", cityloop.db.JSONType, nullable=True),
        sa.ForeignKeyConstraint(["alarm_id"], ["sensor_alarms.id"],
                                name=op.f("fk_sensor_alarm_events_alarm_id_sensor_alarms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_alarm_events")),
    )
    op.create_index(op.f("ix_sensor_alarm_events_alarm_id"), "sensor_alarm_events", ["alarm_id"])
    op.create_table(
        "sensor_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("depth_cm", sa.Float(), nullable=True),
        sa.Column("published_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("lifted_at", UTC, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["alarm_id"], ["sensor_alarms.id"],
                                name=op.f("fk_sensor_warnings_alarm_id_sensor_alarms")),
        sa.ForeignKeyConstraint(["device_id"], ["sensor_devices.id"],
                                name=op.f("fk_sensor_warnings_device_id_sensor_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_warnings")),
    )
    op.create_index(op.f("ix_sensor_warnings_alarm_id"), "sensor_warnings", ["alarm_id"])
    op.create_index(op.f("ix_sensor_warnings_device_id"), "sensor_warnings", ["device_id"])
    op.create_index(op.f("ix_sensor_warnings_lifted_at"), "sensor_warnings", ["lifted_at"])
    op.create_table(
        "sensor_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sensor_counters")),
    )


def downgrade() -> None:
    for table in ("sensor_counters", "sensor_warnings", "sensor_alarm_events", "sensor_alarms", "sensor_rule_states",
                  "sensor_rollups", "sensor_readings", "sensor_devices"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS sensor_partitions CASCADE")
