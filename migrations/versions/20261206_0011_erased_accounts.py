"""Auth: tombstones of erased accounts (a hash of the uid), so an erased person's old
tokens are refused instead of signing the account back up.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('erased_accounts',
    sa.Column('uid_hash', sa.String(length=64), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uid_hash', name=op.f('pk_erased_accounts'))
    )


def downgrade():
    op.drop_table('erased_accounts')
