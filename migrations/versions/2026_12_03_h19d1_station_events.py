"""sensors: HJ 212 station events (uploads that are not data: boot time 2081, running status 2021, running time
2041, device information 3020)

Revision ID: h19d1
Revises: 0007
Create Date: 2026-12-03 07:30:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "h19d1"
down_revision = "0007"
branch_labels = None
depends_on = ("s0002",)  # sensor_devices


def upgrade() -> None:
    op.create_table(
        "sensor_station_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("cn", sa.String(length=4), nullable=False),
        sa.Column("data_time", cityloop.db.UTCDateTime(), nullable=True),
        sa.Column("received_at", cityloop.db.UTCDateTime(), nullable=False),
        sa.Column("values", cityloop.db.JSONType, nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["sensor_devices.id"],
                                name=op.f("fk_sensor_station_events_device_id_sensor_devices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_station_events")),
    )
    op.create_index("ix_sensor_station_events_device_received", "sensor_station_events", ["device_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_sensor_station_events_device_received", table_name="sensor_station_events")
    op.drop_table("sensor_station_events")
