"""Surveys as XLSForm authors write them: languages (default language, translated title),
sections (groups with a heading and a condition), and per question its section, its
translations and a range's step. Bounds become floats: decimal and range questions may have
fractional bounds (whole-number bounds read back as integers).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("languages", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("default_language", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("title_translations", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("sections", sa.JSON(), nullable=True))
    with op.batch_alter_table("survey_questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("section", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("translations", sa.JSON(), nullable=True))
        batch_op.alter_column(
            "min_value", existing_type=sa.Integer(), type_=sa.Float(), existing_nullable=True
        )
        batch_op.alter_column(
            "max_value", existing_type=sa.Integer(), type_=sa.Float(), existing_nullable=True
        )


def downgrade():
    # Fractional bounds are rounded: the old columns hold whole numbers only.
    with op.batch_alter_table("survey_questions", schema=None) as batch_op:
        batch_op.alter_column(
            "max_value",
            existing_type=sa.Float(),
            type_=sa.Integer(),
            existing_nullable=True,
            postgresql_using="round(max_value)::integer",
        )
        batch_op.alter_column(
            "min_value",
            existing_type=sa.Float(),
            type_=sa.Integer(),
            existing_nullable=True,
            postgresql_using="round(min_value)::integer",
        )
        batch_op.drop_column("translations")
        batch_op.drop_column("section")
        batch_op.drop_column("step")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("sections")
        batch_op.drop_column("title_translations")
        batch_op.drop_column("default_language")
        batch_op.drop_column("languages")
