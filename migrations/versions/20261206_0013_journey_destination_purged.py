"""Journeys: the destination may be empty, so the retention purge can delete it with the
fixes (a destination is often the person's home).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 07:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.alter_column('dest_lat', existing_type=sa.Float(), nullable=True)
        batch_op.alter_column('dest_lon', existing_type=sa.Float(), nullable=True)


def downgrade():
    # A purged destination has no position left: 0, 0 stands in for it (the journey ended
    # long ago and nothing reads it).
    op.execute("UPDATE journeys SET dest_lat = 0 WHERE dest_lat IS NULL")
    op.execute("UPDATE journeys SET dest_lon = 0 WHERE dest_lon IS NULL")
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.alter_column('dest_lon', existing_type=sa.Float(), nullable=False)
        batch_op.alter_column('dest_lat', existing_type=sa.Float(), nullable=False)
