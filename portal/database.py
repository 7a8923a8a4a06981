"""Engine settings that make each database engine safe under concurrent writers."""

from sqlalchemy import event
from sqlalchemy.engine import Engine

WRITE = "credit_write"


def configure_engine(engine: Engine) -> None:
    """On SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE for credit writes.

    pysqlite begins transactions lazily and as readers, so two writers that both read a
    balance could both decide to spend it. A write transaction therefore starts with
    BEGIN IMMEDIATE, which takes SQLite's single write lock before the first read.
    PostgreSQL needs nothing here: writers lock the account row with SELECT … FOR UPDATE.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(WRITE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
