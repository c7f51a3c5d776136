"""Reports: a random public id (the Open311 ``service_request_id``), so that request ids
are neither sequential nor guessable; existing reports get one each.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 06:40:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=16), nullable=True))
    reports = sa.table('reports', sa.column('id', sa.Integer), sa.column('public_id', sa.String))
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.select(reports.c.id))]
    if ids:
        bind.execute(
            reports.update()
            .where(reports.c.id == sa.bindparam('row_id'))
            .values(public_id=sa.bindparam('new_id')),
            [{'row_id': i, 'new_id': secrets.token_hex(8)} for i in ids],
        )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_reports_public_id'), ['public_id'])


def downgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_reports_public_id'), type_='unique')
        batch_op.drop_column('public_id')
