"""Reports: a short random reference per report (existing reports get one), the hashed
receipt of an anonymous report, the kind of each history step, and report photos.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 06:30:00.000000

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def upgrade():
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("receipt_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    taken: set[str] = set()
    for (report_id,) in conn.execute(sa.text("SELECT id FROM reports")).all():
        reference = ""
        while not reference or reference in taken:
            reference = "WGN-" + "".join(secrets.choice(ALPHABET) for _ in range(4))
        taken.add(reference)
        conn.execute(
            sa.text("UPDATE reports SET reference = :r WHERE id = :i"),
            {"r": reference, "i": report_id},
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column("reference", existing_type=sa.String(length=12), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_reports_reference"), ["reference"])

    with op.batch_alter_table("report_updates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="status")
        )
    conn.execute(
        sa.text(
            "UPDATE report_updates SET kind = 'received' WHERE status = 'received' "
            "AND actor_id IS NULL AND note IS NULL"
        )
    )
    with op.batch_alter_table("report_updates", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=20), server_default=None)

    op.create_table(
        "report_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=20), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_photos_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_photos")),
        sa.UniqueConstraint("token", name=op.f("uq_report_photos_token")),
    )
    with op.batch_alter_table("report_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_photos_report_id"), ["report_id"], unique=False)


def downgrade():
    with op.batch_alter_table("report_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_photos_report_id"))
    op.drop_table("report_photos")
    with op.batch_alter_table("report_updates", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_reports_reference"), type_="unique")
        batch_op.drop_column("receipt_hash")
        batch_op.drop_column("reference")
