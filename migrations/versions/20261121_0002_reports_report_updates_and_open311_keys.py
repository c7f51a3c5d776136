"""Reports domain: concern reports, their public updates, and Open311 API keys (hashed).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 14:04:24.231138

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "open311_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_keys_key_hash")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("postcode", sa.String(length=8), nullable=True),
        sa.Column("ward_code", sa.String(length=9), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("public_note", sa.Text(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("consent_to_contact", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("open311_key_id", sa.Integer(), nullable=True),
        sa.Column("external_url", sa.String(length=500), nullable=True),
        sa.Column("media_url", sa.String(length=500), nullable=True),
        sa.Column("attributes", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.String(length=160), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_phone", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["open311_key_id"],
            ["open311_keys.id"],
            name=op.f("fk_reports_open311_key_id_open311_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reports_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["ward_code"],
            ["wards.code"],
            name=op.f("fk_reports_ward_code_wards"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            "ix_reports_observed_at_ward_category",
            ["observed_at", "ward_code", "category"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_reports_user_id"), ["user_id"], unique=False)

    op.create_table(
        "report_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_report_updates_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_updates_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_updates")),
    )
    with op.batch_alter_table("report_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_updates_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_report_updates_report_id"), ["report_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("report_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_updates_report_id"))
        batch_op.drop_index(batch_op.f("ix_report_updates_created_at"))

    op.drop_table("report_updates")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_user_id"))
        batch_op.drop_index("ix_reports_observed_at_ward_category")
        batch_op.drop_index(batch_op.f("ix_reports_created_at"))

    op.drop_table("reports")
    op.drop_table("open311_keys")
