"""campaigns (专项普查: grids, inspectors, checklist, checks, tagged cases) and muck_spot_checks (上路抽查)

Revision ID: j21c1
Revises: 0007
Create Date: 2026-12-03 10:49:22.199729
"""
from alembic import op
import sqlalchemy as sa
import cityloop.db


revision = 'j21c1'
down_revision = '0007'
branch_labels = None
depends_on = ("f0001",)  # muck_spot_checks refers to the fleet's tables


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('theme', sa.String(length=16), nullable=False),
    sa.Column('categories', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('starts_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_campaigns_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaigns_starts_at'), ['starts_at'], unique=False)

    op.create_table('campaign_grids',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('duty_grid_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_grids_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['duty_grid_code'], ['duty_grids.code'], name=op.f('fk_campaign_grids_duty_grid_code_duty_grids')),
    sa.PrimaryKeyConstraint('campaign_id', 'duty_grid_code', name=op.f('pk_campaign_grids'))
    )
    op.create_table('campaign_inspectors',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_inspectors_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_campaign_inspectors_user_id_users')),
    sa.PrimaryKeyConstraint('campaign_id', 'user_id', name=op.f('pk_campaign_inspectors'))
    )
    with op.batch_alter_table('campaign_inspectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_inspectors_user_id'), ['user_id'], unique=False)

    op.create_table('campaign_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_items_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_items'))
    )
    with op.batch_alter_table('campaign_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_items_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('campaign_cases',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('tagged_by', sa.String(length=16), nullable=False),
    sa.Column('tagged_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_cases_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_campaign_cases_case_id_cases')),
    sa.PrimaryKeyConstraint('campaign_id', 'case_id', name=op.f('pk_campaign_cases'))
    )
    with op.batch_alter_table('campaign_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_cases_case_id'), ['case_id'], unique=False)

    op.create_table('campaign_checks',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('duty_grid_code', sa.String(length=32), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('done_by', sa.Integer(), nullable=True),
    sa.Column('done_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_checks_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['done_by'], ['users.id'], name=op.f('fk_campaign_checks_done_by_users')),
    sa.ForeignKeyConstraint(['item_id'], ['campaign_items.id'], name=op.f('fk_campaign_checks_item_id_campaign_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'duty_grid_code', name=op.f('pk_campaign_checks'))
    )
    with op.batch_alter_table('campaign_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_checks_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('muck_spot_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('checked_by', sa.Integer(), nullable=True),
    sa.Column('checker_name', sa.String(length=100), nullable=False),
    sa.Column('checked_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('address', sa.String(length=256), nullable=True),
    sa.Column('items', sa.JSON().with_variant(sa.JSON(none_as_null=True), 'postgresql'), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('violation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', cityloop.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checked_by'], ['users.id'], name=op.f('fk_muck_spot_checks_checked_by_users')),
    sa.ForeignKeyConstraint(['company_id'], ['fleet_companies.id'], name=op.f('fk_muck_spot_checks_company_id_fleet_companies')),
    sa.ForeignKeyConstraint(['vehicle_id'], ['fleet_vehicles.id'], name=op.f('fk_muck_spot_checks_vehicle_id_fleet_vehicles')),
    sa.ForeignKeyConstraint(['violation_id'], ['fleet_violations.id'], name=op.f('fk_muck_spot_checks_violation_id_fleet_violations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_muck_spot_checks'))
    )
    with op.batch_alter_table('muck_spot_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_muck_spot_checks_checked_at'), ['checked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_muck_spot_checks_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_muck_spot_checks_vehicle_id'), ['vehicle_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('muck_spot_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_muck_spot_checks_vehicle_id'))
        batch_op.drop_index(batch_op.f('ix_muck_spot_checks_company_id'))
        batch_op.drop_index(batch_op.f('ix_muck_spot_checks_checked_at'))

    op.drop_table('muck_spot_checks')
    with op.batch_alter_table('campaign_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_checks_campaign_id'))

    op.drop_table('campaign_checks')
    with op.batch_alter_table('campaign_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_cases_case_id'))

    op.drop_table('campaign_cases')
    with op.batch_alter_table('campaign_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_items_campaign_id'))

    op.drop_table('campaign_items')
    with op.batch_alter_table('campaign_inspectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_inspectors_user_id'))

    op.drop_table('campaign_inspectors')
    op.drop_table('campaign_grids')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_starts_at'))
        batch_op.drop_index(batch_op.f('ix_campaigns_ends_at'))

    op.drop_table('campaigns')
