"""store reminder rules: one time of day per rule

The store's reminder days before / after the due date and their one time of day become a
list of rules, each with its own time: [{"when": "before", "days": 5, "time": "12:00"}, …].
Downgrading keeps the days and the time most rules use (one time of day was all there was).

Revision ID: 84e9cbdd960f
Revises: 91fb31e82c20
Create Date: 2026-12-01 17:50:04.099839

"""
from collections import Counter

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '84e9cbdd960f'
down_revision = '91fb31e82c20'
branch_labels = None
depends_on = None

DEFAULT_TIME = '12:00'


def _settings_table():
    return sa.table(
        'store_settings',
        sa.column('id', sa.Integer),
        sa.column('reminder_days_before', sa.JSON),
        sa.column('reminder_days_after', sa.JSON),
        sa.column('reminder_time', sa.String),
        sa.column('reminder_rules', sa.JSON),
    )


def upgrade():
    with op.batch_alter_table('store_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_rules', sa.JSON(), nullable=True))
    settings = _settings_table()
    connection = op.get_bind()
    for row in connection.execute(sa.select(settings)).mappings().all():
        time = row['reminder_time'] or DEFAULT_TIME
        # the order the portal keeps: before (latest first), then after (earliest first)
        before = sorted({int(d) for d in row['reminder_days_before'] or []}, reverse=True)
        after = sorted({int(d) for d in row['reminder_days_after'] or []})
        rules = [{'when': 'before', 'days': d, 'time': time} for d in before]
        rules += [{'when': 'after', 'days': d, 'time': time} for d in after]
        connection.execute(
            settings.update().where(settings.c.id == row['id']).values(reminder_rules=rules)
        )
    with op.batch_alter_table('store_settings', schema=None) as batch_op:
        batch_op.alter_column('reminder_rules', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('reminder_time')
        batch_op.drop_column('reminder_days_before')
        batch_op.drop_column('reminder_days_after')


def downgrade():
    with op.batch_alter_table('store_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_days_before', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reminder_days_after', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reminder_time', sa.String(length=5), nullable=True))
    settings = _settings_table()
    connection = op.get_bind()
    for row in connection.execute(sa.select(settings)).mappings().all():
        rules = row['reminder_rules'] or []
        times = Counter(str(rule.get('time') or DEFAULT_TIME) for rule in rules)
        connection.execute(
            settings.update()
            .where(settings.c.id == row['id'])
            .values(
                reminder_days_before=sorted(
                    {int(r['days']) for r in rules if r.get('when') == 'before'}
                ),
                reminder_days_after=sorted(
                    {int(r['days']) for r in rules if r.get('when') == 'after'}
                ),
                reminder_time=times.most_common(1)[0][0] if times else DEFAULT_TIME,
            )
        )
    with op.batch_alter_table('store_settings', schema=None) as batch_op:
        batch_op.alter_column('reminder_days_before', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('reminder_days_after', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column(
            'reminder_time', existing_type=sa.String(length=5), nullable=False
        )
        batch_op.drop_column('reminder_rules')
