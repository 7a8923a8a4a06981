"""SQLite: accounts and their holders' e-mails searched through an FTS5 trigram table.

Until now SQLite matched an account's words by scanning the (search_text, id) index and
the holders' e-mail index: two scans of 100k entries, ~70 ms, in every account and
invoice search. `accounts_fts` (trigram tokenizer) holds one row per account (its
search_text) and one per holder (its e-mail), each with the account id, kept by
triggers. Its rowids are given by `accounts_fts_rows` (an INTEGER PRIMARY KEY per owner,
'a:<account id>' or 'h:<holder id>'), so a row is found again on update and delete
whatever VACUUM does to the accounts' own rowids.

PostgreSQL already answers the same search from its pg_trgm GIN indexes: nothing to do.

Revision ID: 7c4d2e91a5b3
Revises: 3b9e41c7d2a8
Create Date: 2026-12-01 22:40:00

"""

from alembic import op

revision = "7c4d2e91a5b3"
down_revision = "3b9e41c7d2a8"
branch_labels = None
depends_on = None


def _kept(table: str, prefix: str, text: str, columns: str) -> list[str]:
    """The three triggers that keep the rows of `table` in accounts_fts."""
    owner_new, owner_old = f"'{prefix}' || new.id", f"'{prefix}' || old.id"
    insert = f"""
      INSERT INTO accounts_fts_rows(owner) VALUES ({owner_new});
      INSERT INTO accounts_fts(rowid, text, account_id)
      VALUES (last_insert_rowid(), new.{text}, new.{"id" if prefix == "a:" else "account_id"});"""
    delete = f"""
      DELETE FROM accounts_fts
      WHERE rowid = (SELECT fts_rowid FROM accounts_fts_rows WHERE owner = {owner_old});
      DELETE FROM accounts_fts_rows WHERE owner = {owner_old};"""
    return [
        f"CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {table}_fts_update AFTER UPDATE OF {columns} ON {table} "
        f"BEGIN {delete} {insert} END",
        f"CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN {delete} END",
    ]


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in (
        "CREATE TABLE accounts_fts_rows"
        " (fts_rowid INTEGER PRIMARY KEY, owner VARCHAR(120) NOT NULL UNIQUE)",
        "CREATE VIRTUAL TABLE accounts_fts USING fts5("
        "text, account_id UNINDEXED, tokenize = 'trigram')",
        "INSERT INTO accounts_fts_rows(owner) SELECT 'a:' || id FROM accounts",
        "INSERT INTO accounts_fts_rows(owner) SELECT 'h:' || id FROM holders",
        "INSERT INTO accounts_fts(rowid, text, account_id)"
        " SELECT r.fts_rowid, a.search_text, a.id"
        " FROM accounts a JOIN accounts_fts_rows r ON r.owner = 'a:' || a.id",
        "INSERT INTO accounts_fts(rowid, text, account_id)"
        " SELECT r.fts_rowid, h.email, h.account_id"
        " FROM holders h JOIN accounts_fts_rows r ON r.owner = 'h:' || h.id",
        *_kept("accounts", "a:", "search_text", "search_text, id"),
        *_kept("holders", "h:", "email", "email, account_id, id"),
        # The scan these replace.
        "DROP INDEX IF EXISTS ix_accounts_search_text",
    ):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in ("accounts", "holders"):
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{trigger}")
    op.execute("DROP TABLE IF EXISTS accounts_fts")
    op.execute("DROP TABLE IF EXISTS accounts_fts_rows")
    op.execute("CREATE INDEX ix_accounts_search_text ON accounts (search_text)")
