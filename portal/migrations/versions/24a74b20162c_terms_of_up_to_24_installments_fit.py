"""terms of up to 24 installments fit

Revision ID: 24a74b20162c
Revises: e7f6e2dd27b4
Create Date: 2026-12-01 19:35:34.655394

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "24a74b20162c"
down_revision = "e7f6e2dd27b4"
branch_labels = None
depends_on = None


def upgrade():
    # A term of 24 installments is up to 95 characters (24 × 3 digits + 23 slashes).
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite does not enforce VARCHAR lengths: no table rebuild needed
    with op.batch_alter_table("payment_terms", schema=None) as batch_op:
        batch_op.alter_column(
            "days",
            existing_type=sa.VARCHAR(length=64),
            type_=sa.String(length=100),
            existing_nullable=False,
        )

    with op.batch_alter_table("pre_authorizations", schema=None) as batch_op:
        batch_op.alter_column(
            "payment_term",
            existing_type=sa.VARCHAR(length=64),
            type_=sa.String(length=100),
            existing_nullable=False,
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    with op.batch_alter_table("pre_authorizations", schema=None) as batch_op:
        batch_op.alter_column(
            "payment_term",
            existing_type=sa.String(length=100),
            type_=sa.VARCHAR(length=64),
            existing_nullable=False,
        )

    with op.batch_alter_table("payment_terms", schema=None) as batch_op:
        batch_op.alter_column(
            "days",
            existing_type=sa.String(length=100),
            type_=sa.VARCHAR(length=64),
            existing_nullable=False,
        )
