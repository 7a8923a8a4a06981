"""Search by index: folded search_text on accounts and invoices; pg_trgm GIN on
PostgreSQL, an FTS5 trigram table kept by triggers on SQLite.

Revision ID: 5d0c1f2a9b7e
Revises: 84e9cbdd960f
Create Date: 2026-12-01 19:10:00

PostgreSQL: the pg_trgm extension is created when the migrating role may (a managed
database may need it enabled first, see the README); the GIN indexes are built
CONCURRENTLY, so a live store keeps writing while they build.
"""

import logging

import sqlalchemy as sa
from alembic import op

from portal.search import fold

revision = "5d0c1f2a9b7e"
down_revision = "84e9cbdd960f"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
BATCH = 5000

TRGM_INDEXES = (
    ("ix_accounts_search_trgm", "accounts", "search_text"),
    ("ix_invoices_search_trgm", "invoices", "search_text"),
    ("ix_holders_email_trgm", "holders", "email"),
)

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE invoices_fts USING fts5(search_text, tokenize = 'trigram')",
    """CREATE TRIGGER invoices_fts_insert AFTER INSERT ON invoices BEGIN
      INSERT INTO invoices_fts(rowid, search_text)
      VALUES (CAST(new.friendly_id AS INTEGER), new.search_text);
    END""",
    """CREATE TRIGGER invoices_fts_update AFTER UPDATE OF search_text, friendly_id ON invoices
    BEGIN
      DELETE FROM invoices_fts WHERE rowid = CAST(old.friendly_id AS INTEGER);
      INSERT INTO invoices_fts(rowid, search_text)
      VALUES (CAST(new.friendly_id AS INTEGER), new.search_text);
    END""",
    """CREATE TRIGGER invoices_fts_delete AFTER DELETE ON invoices BEGIN
      DELETE FROM invoices_fts WHERE rowid = CAST(old.friendly_id AS INTEGER);
    END""",
    "INSERT INTO invoices_fts(rowid, search_text)"
    " SELECT CAST(friendly_id AS INTEGER), search_text FROM invoices",
)


def _fill(table: str, key: str, columns: tuple[str, ...]) -> None:
    """search_text of every existing row, a batch at a time (keyset on the id)."""
    bind = op.get_bind()
    last = ""
    while True:
        rows = bind.execute(
            sa.text(
                f"SELECT {key}, {', '.join(columns)} FROM {table} WHERE {key} > :last "
                f"ORDER BY {key} LIMIT {BATCH}"
            ),
            {"last": last},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text(f"UPDATE {table} SET search_text = :text WHERE {key} = :id"),
            [
                {"id": row[0], "text": fold(" ".join(str(v) for v in row[1:] if v))[:2000]}
                for row in rows
            ],
        )
        last = rows[-1][0]


def upgrade():
    for table in ("accounts", "invoices"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("search_text", sa.String(2000), nullable=False, server_default="")
            )
    _fill("accounts", "id", ("id", "document", "email", "name", "description"))
    _fill("invoices", "id", ("friendly_id", "id", "order_id", "observation"))

    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_accounts_search_text", "accounts", ["search_text"])
        for statement in SQLITE_FTS:
            op.execute(statement)
        return

    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        log.warning(
            "pg_trgm could not be created by this role: searches work, without an index. "
            "Enable the extension (README: Speed) and run this migration again."
        )
        return
    with op.get_context().autocommit_block():
        for name, table, column in TRGM_INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # an earlier failed build
            op.execute(
                f"CREATE INDEX CONCURRENTLY {name} ON {table} USING gin ({column} gin_trgm_ops)"
            )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS invoices_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS invoices_fts")
        op.drop_index("ix_accounts_search_text", "accounts")
    else:
        with op.get_context().autocommit_block():
            for name, _table, _column in TRGM_INDEXES:
                op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    for table in ("invoices", "accounts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("search_text")
