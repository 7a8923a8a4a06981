"""SQLite: the per-account invoice rollups too, in whole cents, kept by triggers.

PostgreSQL got `invoice_rollups` in 9e6b1d3f4c20; SQLite still added up a million
invoices for the store's totals (~190-280 ms on the 2-core machine, over the 250 ms
target). The same table on SQLite keeps value and paid amount in whole cents (INTEGER):
each invoice's amount is rounded to its cents once, as it enters or leaves the rollup, so
the triggers and the totals add integers and are exact, where adding SQLite's REAL
amounts would drift. `portal.models.Cents` reads them back as Decimal.

Three row triggers (insert, delete, update of the columns that count) keep the rollup in
the writing transaction, which already holds SQLite's one write lock. An unknown status
aborts the write, as on PostgreSQL.

Revision ID: a3c5e8f1b2d7
Revises: 9e6b1d3f4c20
Create Date: 2026-12-02 04:10:00

"""

from alembic import op

revision = "a3c5e8f1b2d7"
down_revision = "9e6b1d3f4c20"
branch_labels = None
depends_on = None

STATUSES = ("Opened", "Paid", "Cancelled")
TRIGGERS = ("invoices_rollups_insert", "invoices_rollups_delete", "invoices_rollups_update")


def _cents(expression: str) -> str:
    return f"CAST(round({expression} * 100) AS INTEGER)"


def _figures(row: str) -> list[tuple[str, str]]:
    """(column, what one invoice `row` adds to it) for each status and figure."""
    figures = []
    for status in STATUSES:
        counts = f"({row}.status = '{status}')"
        name = status.lower()
        figures += [
            (f"{name}_count", counts),
            (f"{name}_value", f"{counts} * {_cents(f'{row}.value')}"),
            (f"{name}_paid", f"{counts} * {_cents(f'{row}.paid_amount')}"),
        ]
    return figures


def _add(row: str, sign: str) -> str:
    changes = ", ".join(f"{column} = {column} {sign} {part}" for column, part in _figures(row))
    return (
        f"INSERT OR IGNORE INTO invoice_rollups (account_id) VALUES ({row}.account_id);"
        f" UPDATE invoice_rollups SET {changes} WHERE account_id = {row}.account_id;"
    )


def _refuse_unknown(row: str) -> str:
    known = ", ".join(f"'{status}'" for status in STATUSES)
    return (
        "SELECT RAISE(ABORT, 'invoice_rollups: unknown invoice status')"
        f" WHERE {row}.status NOT IN ({known});"
    )


def _table() -> str:
    columns = ", ".join(f"{column} INTEGER NOT NULL DEFAULT 0" for column, _ in _figures("x"))
    return (
        "CREATE TABLE invoice_rollups ("
        " account_id VARCHAR(80) PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE, "
        f"{columns})"
    )


def _backfill() -> str:
    figures = _figures("invoices")
    names = ", ".join(column for column, _ in figures)
    sums = ", ".join(f"sum({part})" for _, part in figures)
    return (
        f"INSERT INTO invoice_rollups (account_id, {names})"
        f" SELECT account_id, {sums} FROM invoices GROUP BY account_id"
    )


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in (
        _table(),
        f"CREATE TRIGGER invoices_rollups_insert AFTER INSERT ON invoices BEGIN"
        f" {_refuse_unknown('NEW')} {_add('NEW', '+')} END",
        f"CREATE TRIGGER invoices_rollups_delete AFTER DELETE ON invoices BEGIN"
        f" {_add('OLD', '-')} END",
        "CREATE TRIGGER invoices_rollups_update"
        " AFTER UPDATE OF account_id, status, value, paid_amount ON invoices BEGIN"
        f" {_refuse_unknown('NEW')} {_add('OLD', '-')} {_add('NEW', '+')} END",
        _backfill(),
    ):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS invoice_rollups")
