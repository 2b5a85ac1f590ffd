"""exchange: the county outbox and uplink, the city's links, mirrored cases/events, parked events, monthly
figures and assignments down (数据交换/数据汇聚)

Revision ID: j16x1
Revises: 0007
Create Date: 2026-12-03 10:50:43.713154
"""
from alembic import op
import sqlalchemy as sa
import cityloop.db


revision = 'j16x1'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exchange_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('body', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('created_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('delivered_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_assignments')),
    sa.UniqueConstraint('ref', name=op.f('uq_exchange_assignments_ref'))
    )
    with op.batch_alter_table('exchange_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_assignments_platform'), ['platform'], unique=False)

    op.create_table('exchange_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('batch_id', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('received_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_batches')),
    sa.UniqueConstraint('platform', 'batch_id', name=op.f('uq_exchange_batches_platform'))
    )
    op.create_table('exchange_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('remote_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('category_code', sa.String(length=8), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('address', sa.String(length=256), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('reported_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('required_due_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('rework_count', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('last_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('assignment_ref', sa.String(length=64), nullable=True),
    sa.Column('result', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_cases')),
    sa.UniqueConstraint('platform', 'remote_id', name=op.f('uq_exchange_cases_platform'))
    )
    with op.batch_alter_table('exchange_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_cases_assignment_ref'), ['assignment_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_cases_platform'), ['platform'], unique=False)

    op.create_table('exchange_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('last_batch_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_batch_id', sa.String(length=64), nullable=True),
    sa.Column('last_outbox_id', sa.Integer(), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('lag_seconds', sa.Float(), nullable=True),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_links')),
    sa.UniqueConstraint('platform', name=op.f('uq_exchange_links_platform'))
    )
    op.create_table('exchange_monthly',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('figures', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('received_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_monthly')),
    sa.UniqueConstraint('platform', 'month', name=op.f('uq_exchange_monthly_platform'))
    )
    op.create_table('exchange_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('case_seq', sa.Integer(), nullable=True),
    sa.Column('body', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('created_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acked_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('batch_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_exchange_outbox_event_id'))
    )
    with op.batch_alter_table('exchange_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_outbox_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_exchange_outbox_pending', ['id'], unique=False, sqlite_where=sa.text('acked_at IS NULL'), postgresql_where=sa.text('acked_at IS NULL'))

    op.create_table('exchange_parked',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('remote_case_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('body', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('parked_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_parked')),
    sa.UniqueConstraint('platform', 'event_id', name=op.f('uq_exchange_parked_platform'))
    )
    with op.batch_alter_table('exchange_parked', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_parked_remote_case_id'), ['remote_case_id'], unique=False)

    op.create_table('exchange_uplink',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_ok_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', cityloop.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('sent_events', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_uplink'))
    )
    op.create_table('exchange_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('mirror_case_id', sa.Integer(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=True),
    sa.Column('at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_stage', sa.String(length=16), nullable=True),
    sa.Column('to_stage', sa.String(length=16), nullable=True),
    sa.Column('body', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('received_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mirror_case_id'], ['exchange_cases.id'], name=op.f('fk_exchange_events_mirror_case_id_exchange_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_events')),
    sa.UniqueConstraint('platform', 'event_id', name=op.f('uq_exchange_events_platform'))
    )
    with op.batch_alter_table('exchange_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_events_mirror_case_id'), ['mirror_case_id'], unique=False)

    op.create_table('exchange_received',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('received_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_exchange_received_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_received')),
    sa.UniqueConstraint('ref', name=op.f('uq_exchange_received_ref'))
    )
    with op.batch_alter_table('exchange_received', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_received_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    for table in ("exchange_received", "exchange_events", "exchange_uplink", "exchange_parked", "exchange_outbox",
                  "exchange_monthly", "exchange_links", "exchange_cases", "exchange_batches", "exchange_assignments"):
        op.drop_table(table)
