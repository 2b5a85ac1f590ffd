"""channels (上报渠道): tracking codes, API keys, cameras and captures, position pings, photo evidence,
gazetteer, rate limits

Revision ID: c0001
Revises: 0006
Create Date: 2026-11-25 15:00:00
"""
from alembic import op
import sqlalchemy as sa

import cityloop.db

revision = "c0001"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cameras',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('site', sa.String(length=100), nullable=True),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('grid_code', sa.String(length=15), nullable=False),
    sa.Column('duty_grid_code', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_cameras'))
    )
    op.create_table('channel_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_channel_keys_key_hash'))
    )
    op.create_table('channel_rate_limits',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_channel_rate_limits'))
    )
    op.create_table('gazetteer_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('alias', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gazetteer_entries'))
    )
    with op.batch_alter_table('gazetteer_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gazetteer_entries_name'), ['name'], unique=False)

    op.create_table('position_pings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('grid_code', sa.String(length=15), nullable=True),
    sa.Column('at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_position_pings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_pings'))
    )
    with op.batch_alter_table('position_pings', schema=None) as batch_op:
        batch_op.create_index('ix_position_pings_user_at', ['user_id', 'at'], unique=False)

    op.create_table('camera_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_code', sa.String(length=32), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('opened_case', sa.Boolean(), nullable=False),
    sa.Column('captured_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_code'], ['cameras.code'], name=op.f('fk_camera_events_camera_code_cameras')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_camera_events_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera_events'))
    )
    with op.batch_alter_table('camera_events', schema=None) as batch_op:
        batch_op.create_index('ix_camera_events_camera_type_at', ['camera_code', 'event_type', 'captured_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_camera_events_case_id'), ['case_id'], unique=False)

    op.create_table('channel_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('tracking_code', sa.String(length=16), nullable=False),
    sa.Column('jurisdiction_id', sa.String(length=64), nullable=True),
    sa.Column('media_url', sa.String(length=512), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('account_id', sa.String(length=64), nullable=True),
    sa.Column('external_ref', sa.String(length=128), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('category_guessed', sa.Boolean(), nullable=False),
    sa.Column('created_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_channel_reports_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_reports')),
    sa.UniqueConstraint('case_id', name=op.f('uq_channel_reports_case_id')),
    sa.UniqueConstraint('tracking_code', name=op.f('uq_channel_reports_tracking_code'))
    )
    op.create_table('photo_evidence',
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('exif_time', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('exif_lon', sa.Float(), nullable=True),
    sa.Column('exif_lat', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('gap_minutes', sa.Float(), nullable=True),
    sa.Column('phash', sa.String(length=16), nullable=True),
    sa.Column('flags', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('matches', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('checked_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_photo_evidence_case_id_cases')),
    sa.ForeignKeyConstraint(['photo_id'], ['case_photos.id'], name=op.f('fk_photo_evidence_photo_id_case_photos')),
    sa.PrimaryKeyConstraint('photo_id', name=op.f('pk_photo_evidence'))
    )
    with op.batch_alter_table('photo_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_evidence_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_evidence_phash'), ['phash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('photo_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_evidence_phash'))
        batch_op.drop_index(batch_op.f('ix_photo_evidence_case_id'))

    op.drop_table('photo_evidence')
    op.drop_table('channel_reports')
    with op.batch_alter_table('camera_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_camera_events_case_id'))
        batch_op.drop_index('ix_camera_events_camera_type_at')

    op.drop_table('camera_events')
    with op.batch_alter_table('position_pings', schema=None) as batch_op:
        batch_op.drop_index('ix_position_pings_user_at')

    op.drop_table('position_pings')
    with op.batch_alter_table('gazetteer_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gazetteer_entries_name'))

    op.drop_table('gazetteer_entries')
    op.drop_table('channel_rate_limits')
    op.drop_table('channel_keys')
    op.drop_table('cameras')
