"""store identity, pay links, user language

Revision ID: 08948262bdb9
Revises: 5d0c1f2a9b7e
Create Date: 2026-12-01 18:59:32.666789

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "08948262bdb9"
down_revision = "5d0c1f2a9b7e"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("store_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "payment_link_template", sa.String(length=500), server_default="", nullable=False
            )
        )
        batch_op.add_column(sa.Column("bank_details", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("pix_key", sa.String(length=140), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("trade_name", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("legal_name", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("tax_id", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("address", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("support_email", sa.String(length=254), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("support_phone", sa.String(length=40), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("logo", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("logo_type", sa.String(length=16), server_default="", nullable=False)
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("language")

    with op.batch_alter_table("store_settings", schema=None) as batch_op:
        batch_op.drop_column("logo_type")
        batch_op.drop_column("logo")
        batch_op.drop_column("support_phone")
        batch_op.drop_column("support_email")
        batch_op.drop_column("address")
        batch_op.drop_column("tax_id")
        batch_op.drop_column("legal_name")
        batch_op.drop_column("trade_name")
        batch_op.drop_column("pix_key")
        batch_op.drop_column("bank_details")
        batch_op.drop_column("payment_link_template")
