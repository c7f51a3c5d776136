"""SOS from anywhere: sos_events (unique per person and client id), alert receipts, the
recipient of each delivery, emergency shares (journeys.kind, sos_at), phone numbers and the
per-contact choice to share them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=16), nullable=True))

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_shares_phone', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('contact_shares_phone', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.alter_column('owner_shares_phone', server_default=None)
        batch_op.alter_column('contact_shares_phone', server_default=None)

    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), nullable=False, server_default='journey'))
        batch_op.add_column(sa.Column('sos_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)

    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_deliveries_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alert_deliveries_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')

    op.create_table('alert_receipts',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert_outbox.id'], name=op.f('fk_alert_receipts_alert_id_alert_outbox'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_receipts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('alert_id', 'user_id', name=op.f('pk_alert_receipts'))
    )
    with op.batch_alter_table('alert_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_receipts_user_id'), ['user_id'], unique=False)

    op.create_table('sos_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('battery', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert_outbox.id'], name=op.f('fk_sos_events_alert_id_alert_outbox'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_sos_events_journey_id_journeys'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sos_events_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sos_events')),
    sa.UniqueConstraint('user_id', 'client_id', name=op.f('uq_sos_events_user_id'))
    )
    with op.batch_alter_table('sos_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sos_events_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sos_events_journey_id'), ['journey_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sos_events_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('sos_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sos_events_user_id'))
        batch_op.drop_index(batch_op.f('ix_sos_events_journey_id'))
        batch_op.drop_index(batch_op.f('ix_sos_events_alert_id'))
    op.drop_table('sos_events')

    with op.batch_alter_table('alert_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_receipts_user_id'))
    op.drop_table('alert_receipts')

    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alert_deliveries_user_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alert_deliveries_user_id'))
        batch_op.drop_column('user_id')

    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.drop_column('sos_at')
        batch_op.drop_column('kind')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('contact_shares_phone')
        batch_op.drop_column('owner_shares_phone')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone')
