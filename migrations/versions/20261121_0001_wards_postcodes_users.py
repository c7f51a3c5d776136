"""Foundation: wards, postcodes and users (and the PostGIS extension on PostgreSQL).

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 13:53:23.493990

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('wards',
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('geometry', sa.Text(), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('min_lat', sa.Float(), nullable=False),
    sa.Column('min_lon', sa.Float(), nullable=False),
    sa.Column('max_lat', sa.Float(), nullable=False),
    sa.Column('max_lon', sa.Float(), nullable=False),
    sa.Column('centroid_lat', sa.Float(), nullable=False),
    sa.Column('centroid_lon', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_wards'))
    )
    op.create_table('postcodes',
    sa.Column('postcode', sa.String(length=8), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('ward_code', sa.String(length=9), nullable=True),
    sa.Column('lsoa_code', sa.String(length=9), nullable=True),
    sa.ForeignKeyConstraint(['ward_code'], ['wards.code'], name=op.f('fk_postcodes_ward_code_wards'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('postcode', name=op.f('pk_postcodes'))
    )
    with op.batch_alter_table('postcodes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postcodes_ward_code'), ['ward_code'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('ward_code', sa.String(length=9), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ward_code'], ['wards.code'], name=op.f('fk_users_ward_code_wards'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('uid', name=op.f('uq_users_uid'))
    )


def downgrade():
    op.drop_table('users')
    with op.batch_alter_table('postcodes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postcodes_ward_code'))

    op.drop_table('postcodes')
    op.drop_table('wards')
