"""sensors: HJ 212 stations (device MN and password), the factors HJ 212 monitors send (TSP, temperature,
humidity, wind), values flagged abnormal by a station, and rollups reported by stations

Revision ID: s0002
Revises: s0001
Create Date: 2026-11-25 16:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None

NEW_VALUES = ("tsp", "temp_c", "humidity_pct", "wind_ms", "wind_dir_deg")


def upgrade() -> None:
    op.add_column("sensor_devices", sa.Column("hj212_mn", sa.String(length=24), nullable=True))
    op.add_column("sensor_devices", sa.Column("hj212_password", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_sensor_devices_hj212_mn"), "sensor_devices", ["hj212_mn"], unique=True)
    # On PostgreSQL sensor_readings is partitioned: columns added to it reach every partition.
    for name in NEW_VALUES:
        op.add_column("sensor_readings", sa.Column(name, sa.Float(), nullable=True))
    op.add_column("sensor_readings", sa.Column("flags", cityloop.db.JSONType, nullable=True))
    op.add_column("sensor_rollups", sa.Column("reported", sa.String(length=1), nullable=True))


def downgrade() -> None:
    op.drop_column("sensor_rollups", "reported")
    op.drop_column("sensor_readings", "flags")
    for name in reversed(NEW_VALUES):
        op.drop_column("sensor_readings", name)
    op.drop_index(op.f("ix_sensor_devices_hj212_mn"), table_name="sensor_devices")
    op.drop_column("sensor_devices", "hj212_password")
    op.drop_column("sensor_devices", "hj212_mn")
