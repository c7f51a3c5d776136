"""Alerts: deliveries are claimed per (alert, device) with a lease; the claim is recorded.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.drop_column('claimed_by')
