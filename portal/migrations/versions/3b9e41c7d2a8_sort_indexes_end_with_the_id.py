"""Sort indexes end with the id; the due-date ones cover the invoice totals.

Every list sort orders by its column and then the id (portal/listing.py), so each sort's
index ends with the id: a page, deep ones included, is read in index order without a
sort step. The two due-date indexes of invoices also hold status, value and paid amount,
so the totals of a status or due-date filter are computed from the index alone.

On PostgreSQL the indexes are built CONCURRENTLY (a live store keeps writing); the old
ones are dropped only after their replacements exist.

Revision ID: 3b9e41c7d2a8
Revises: 24a74b20162c
Create Date: 2026-12-01 21:45:00

"""

from alembic import op

revision = "3b9e41c7d2a8"
down_revision = "24a74b20162c"
branch_labels = None
depends_on = None

# (name, table, columns): built first, then the indexes they replace are dropped.
NEW = [
    ("ix_invoices_status_due_v2", "invoices", "status, due_date, id, value, paid_amount"),
    ("ix_invoices_due_sort", "invoices", "due_date, id, status, value, paid_amount"),
    ("ix_invoices_created_sort", "invoices", "created_at, id"),
    ("ix_invoices_value_sort", "invoices", "value, id"),
    ("ix_accounts_status_created_v2", "accounts", "status, created_at, id"),
    ("ix_accounts_created_sort", "accounts", "created_at, id"),
    ("ix_accounts_limit_sort", "accounts", "credit_limit, id"),
]
OLD = [
    ("ix_invoices_status_due", "invoices", "status, due_date"),
    ("ix_invoices_due_date", "invoices", "due_date"),
    ("ix_invoices_created", "invoices", "created_at"),
    ("ix_invoices_value", "invoices", "value"),
    ("ix_accounts_status_created", "accounts", "status, created_at"),
    ("ix_accounts_status", "accounts", "status"),
    ("ix_accounts_credit_limit", "accounts", "credit_limit"),
]
# The two rebuilt indexes keep their names (built as *_v2, renamed once the old is gone).
RENAMED = [
    ("ix_invoices_status_due_v2", "ix_invoices_status_due"),
    ("ix_accounts_status_created_v2", "ix_accounts_status_created"),
]


def _swap(build: list, drop: list, renames: list) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    how = "CONCURRENTLY " if postgres else ""

    def run() -> None:
        for name, table, columns in build:
            op.execute(f"DROP INDEX {how}IF EXISTS {name}")  # an earlier failed build
            op.execute(f"CREATE INDEX {how}{name} ON {table} ({columns})")
        for name, _table, _columns in drop:
            op.execute(f"DROP INDEX {how}IF EXISTS {name}")
        for old, new in renames:
            op.execute(f"ALTER INDEX {old} RENAME TO {new}")

    if postgres:
        with op.get_context().autocommit_block():
            run()
    else:
        run()


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot rename an index: build the final names after dropping the old.
        final = dict(RENAMED)
        _swap([], OLD, [])
        _swap([(final.get(n, n), t, c) for n, t, c in NEW], [], [])
    else:
        _swap(NEW, OLD, RENAMED)
    op.execute("ANALYZE invoices")
    op.execute("ANALYZE accounts")


def downgrade():
    new_names = [(dict(RENAMED).get(n, n), t, c) for n, t, c in NEW]
    if op.get_bind().dialect.name == "sqlite":
        _swap([], new_names, [])
        _swap(OLD, [], [])
    else:
        _swap(
            [(f"{n}_v1", t, c) if n in dict(RENAMED).values() else (n, t, c) for n, t, c in OLD],
            new_names,
            [(f"{new}_v1", new) for _old, new in RENAMED],
        )
