"""Reports: every media_url an Open311 sender posts (FixMyStreet can send several), not only
the first; the first stays in ``media_url``, the rest go in ``more_media_urls`` (JSON list).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 07:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("more_media_urls", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("more_media_urls")
