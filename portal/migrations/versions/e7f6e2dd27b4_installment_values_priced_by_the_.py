"""installment values priced by the checkout (interest per installment)

Revision ID: e7f6e2dd27b4
Revises: 08948262bdb9
Create Date: 2026-12-01 19:02:39.315581

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e7f6e2dd27b4"
down_revision = "08948262bdb9"
branch_labels = None
depends_on = None


def upgrade():
    # None for every existing hold: they settle by the equal split, as before.
    with op.batch_alter_table("pre_authorizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("installment_values", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("pre_authorizations", schema=None) as batch_op:
        batch_op.drop_column("installment_values")
