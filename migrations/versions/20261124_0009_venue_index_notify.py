"""Venues: the index token's trigger also notifies each new token (LISTEN/NOTIFY on
PostgreSQL), so a worker's nearest index knows it is current without reading it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op

from backend.venues.models import pg_bump_function


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(pg_bump_function(notify=True))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(pg_bump_function(notify=False))
