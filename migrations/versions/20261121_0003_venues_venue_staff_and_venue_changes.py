"""Venues (safe places) with their spatial index, venue staff links and the venue audit trail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 14:03:56.332326

"""
from alembic import op
import sqlalchemy as sa
import backend.spatial
from backend.migrating import create_point_index, drop_point_index

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('venues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('postcode', sa.String(length=8), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('opening_hours', sa.String(length=500), nullable=True),
    sa.Column('schemes', sa.JSON(), nullable=False),
    sa.Column('accessibility', sa.String(length=500), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('ward_code', sa.String(length=9), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('verification_note', sa.Text(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('staff_trained_until', sa.Date(), nullable=True),
    sa.Column('unavailable_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unavailable_reason', sa.String(length=300), nullable=True),
    sa.Column('external_ref', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('geog', backend.spatial.PortableGeography(), nullable=True),
    sa.ForeignKeyConstraint(['ward_code'], ['wards.code'], name=op.f('fk_venues_ward_code_wards'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venues')),
    sa.UniqueConstraint('external_ref', name=op.f('uq_venues_external_ref'))
    )
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.create_index('ix_venues_status_category', ['status', 'category'], unique=False)
        batch_op.create_index(batch_op.f('ix_venues_ward_code'), ['ward_code'], unique=False)
    create_point_index(op, 'venues')

    op.create_table('venue_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=128), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_venue_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_venue_changes_venue_id_venues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venue_changes'))
    )
    with op.batch_alter_table('venue_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venue_changes_venue_id'), ['venue_id'], unique=False)

    op.create_table('venue_staff',
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_venue_staff_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_venue_staff_venue_id_venues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('venue_id', 'user_id', name=op.f('pk_venue_staff'))
    )
    with op.batch_alter_table('venue_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_venue_staff_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('venue_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venue_staff_user_id'))

    op.drop_table('venue_staff')
    with op.batch_alter_table('venue_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venue_changes_venue_id'))

    op.drop_table('venue_changes')
    drop_point_index(op, 'venues')
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venues_ward_code'))
        batch_op.drop_index('ix_venues_status_category')

    op.drop_table('venues')
