"""PostgreSQL: per-account invoice rollups, kept by a trigger, for the store's totals.

The invoice totals of the whole store (or of a status filter) added up a million
invoices: ~150-330 ms on PostgreSQL. `invoice_rollups` holds one row per account: for
each invoice status (Opened, Paid, Cancelled) how many invoices it has, their value and
their paid amount. A row trigger on invoices keeps it in the writing transaction, which
already holds the account's lock (DESIGN.md), so a rollup row is only ever written by
the one transaction that may change that account: no store-wide row for every write to
wait on. The totals then add up 100k rows instead of 1M (one row per account, not per
account and status: half the time again). Overdue depends on today's date and is still
counted from the (status, due_date, ...) index. A status the trigger does not know is
refused, so the rollups cannot silently drift.

SQLite meets its totals target by adding the invoices up from its covering index, and
keeping sums of money in a trigger there would mean floating point: no rollups.

CREATE TRIGGER blocks writes to invoices until this migration commits, about a second
per million invoices (the backfill).

Revision ID: 9e6b1d3f4c20
Revises: 7c4d2e91a5b3
Create Date: 2026-12-02 01:40:00

"""

from alembic import op

revision = "9e6b1d3f4c20"
down_revision = "7c4d2e91a5b3"
branch_labels = None
depends_on = None

STATUSES = ("Opened", "Paid", "Cancelled")
FIGURES = ("count", "value", "paid")  # per status: <status>_count, _value, _paid


def _columns(status: str) -> list[str]:
    return [f"{status.lower()}_{figure}" for figure in FIGURES]


def _add_to(status: str) -> str:
    """The plpgsql that adds (sign, value, paid) of one invoice to its status's columns."""
    count, value, paid = _columns(status)
    return (
        f"UPDATE invoice_rollups SET {count} = {count} + sign,"
        f" {value} = {value} + sign * amount, {paid} = {paid} + sign * paid_amount"
        " WHERE account_id = account;"
    )


ADD = f"""
CREATE FUNCTION invoice_rollups_add(
  account VARCHAR, invoice_status VARCHAR, sign INTEGER, amount NUMERIC, paid_amount NUMERIC
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO invoice_rollups (account_id) VALUES (account) ON CONFLICT DO NOTHING;
  {
    " ".join(
        f"{'IF' if i == 0 else 'ELSIF'} invoice_status = '{status}' THEN {_add_to(status)}"
        for i, status in enumerate(STATUSES)
    )
}
  ELSE RAISE EXCEPTION 'invoice_rollups: unknown invoice status %', invoice_status;
  END IF;
END $$
"""
KEEP = """
CREATE FUNCTION invoice_rollups_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM invoice_rollups_add(OLD.account_id, OLD.status, -1, OLD.value, OLD.paid_amount);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM invoice_rollups_add(NEW.account_id, NEW.status, 1, NEW.value, NEW.paid_amount);
  END IF;
  RETURN NULL;
END $$
"""


def _table() -> str:
    kinds = {"count": "BIGINT", "value": "NUMERIC(18, 2)", "paid": "NUMERIC(18, 2)"}
    columns = [
        f"{status.lower()}_{figure} {kinds[figure]} NOT NULL DEFAULT 0"
        for status in STATUSES
        for figure in FIGURES
    ]
    return (
        "CREATE TABLE invoice_rollups ("
        " account_id VARCHAR(80) PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE, "
        + ", ".join(columns)
        + ")"
    )


def _backfill() -> str:
    sums = [
        f"coalesce({aggregate} FILTER (WHERE status = '{status}'), 0)"
        for status in STATUSES
        for aggregate in ("count(*)", "sum(value)", "sum(paid_amount)")
    ]
    names = ", ".join(column for status in STATUSES for column in _columns(status))
    return (
        f"INSERT INTO invoice_rollups (account_id, {names})"
        f" SELECT account_id, {', '.join(sums)} FROM invoices GROUP BY account_id"
    )


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (
        _table(),
        ADD,
        KEEP,
        "CREATE TRIGGER invoices_rollups AFTER INSERT OR DELETE"
        " OR UPDATE OF account_id, status, value, paid_amount ON invoices"
        " FOR EACH ROW EXECUTE FUNCTION invoice_rollups_keep()",
        _backfill(),
    ):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS invoices_rollups ON invoices")
    op.execute("DROP FUNCTION IF EXISTS invoice_rollups_keep()")
    op.execute(
        "DROP FUNCTION IF EXISTS invoice_rollups_add(VARCHAR, VARCHAR, INTEGER, NUMERIC, NUMERIC)"
    )
    op.execute("DROP TABLE IF EXISTS invoice_rollups")
