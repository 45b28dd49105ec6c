"""The serving database: one SQLAlchemy engine, SQLite in a file by default, PostgreSQL for several machines.

The schema (``users`` and ``audit_log`` with its ``audit_head``) is created on
first use. SQLite runs in WAL mode so readers never wait for the writer, with
``synchronous=NORMAL`` (durable at each checkpoint; a power cut can lose the last
transactions but never corrupts the file) and a 30 s busy timeout; writers that
must be serialised (the audit trail's hash chain) open their transaction with
``BEGIN IMMEDIATE`` through :func:`write_transaction`.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from meddl.errors import ConfigError

__all__ = ["DEFAULT_DB_URL", "METADATA", "USERS", "AUDIT_LOG", "AUDIT_HEAD", "make_engine", "write_transaction",
           "driver_cursor", "is_sqlite", "database_status"]

DEFAULT_DB_URL = "sqlite:///meddl-serve.db"
GENESIS_HASH = "0" * 64

METADATA = sa.MetaData()

USERS = sa.Table(
    "meddl_users", METADATA,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("created", sa.String(40), nullable=False),
    sa.Column("revoked", sa.String(40), nullable=True),
)

AUDIT_LOG = sa.Table(
    "meddl_audit_log", METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.String(40), nullable=False, index=True),
    sa.Column("user", sa.String(64), nullable=True, index=True),
    sa.Column("model", sa.String(128), nullable=True, index=True),
    sa.Column("weights_sha256", sa.String(64), nullable=True),
    sa.Column("endpoint", sa.String(200), nullable=False),
    sa.Column("input_sha256", sa.String(64), nullable=True),
    sa.Column("inputs", sa.Text, nullable=True),
    sa.Column("output", sa.Text, nullable=True),
    sa.Column("n_rows", sa.Integer, nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("previous_hash", sa.String(64), nullable=False),
    sa.Column("row_hash", sa.String(64), nullable=False),
)

# One row: how many audit rows exist and the hash of the last one, updated in the same
# transaction as each insert, so deleting the newest rows is detected too.
AUDIT_HEAD = sa.Table(
    "meddl_audit_head", METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
)


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_connection_setup(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get("meddl_write_lock", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str | None = None, *, create_schema: bool = True, existing: bool = False) -> sa.Engine:
    """An engine for ``url`` (default ``sqlite:///meddl-serve.db``), with the schema created if missing.

    ``existing=True`` (``meddl audit``) opens only a database that already holds meddl's audit trail: a
    missing SQLite file is not created (checking a new, empty one would report an intact trail of 0 rows).

    Raises:
        ConfigError: a URL SQLAlchemy cannot parse, a driver that is not installed,
            or a database that cannot be reached.
    """
    url = url or DEFAULT_DB_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]  # psycopg 3, the driver meddl[postgres] installs
    try:
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:":
                if existing and not Path(database).expanduser().is_file():
                    raise ConfigError(f"No database at '{database}' (the 'db' URL {_redacted(url)!r}"
                                      f"{', the default' if url == DEFAULT_DB_URL else ''}; a relative path is "
                                      f"from this folder, {str(Path.cwd())!r}). Pass --db with the URL that "
                                      f"meddl serve used.")
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
            _sqlite_connection_setup(engine)
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ConfigError(f"The 'db' URL {_redacted(url)!r} cannot be used: {exc}. Use sqlite:///path/to/file.db "
                          f"or postgresql://user:password@host/database.") from None
    if existing:
        try:
            has_trail = sa.inspect(engine).has_table(AUDIT_LOG.name)
        except sa.exc.OperationalError as exc:
            raise ConfigError(f"Cannot reach the database {_redacted(url)!r}: {exc.orig}. Check that the server "
                              f"runs and the URL is right.") from None
        if not has_trail:
            raise ConfigError(f"The database {_redacted(url)!r} holds no meddl audit trail (no table "
                              f"{AUDIT_LOG.name!r}). Pass --db with the URL that meddl serve used.")
    if create_schema:
        try:
            METADATA.create_all(engine)
        except sa.exc.OperationalError as exc:
            raise ConfigError(f"Cannot reach the database {_redacted(url)!r}: {exc.orig}. Check that the server "
                              f"runs and the URL is right.") from None
    return engine


def _redacted(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


@contextmanager
def write_transaction(engine: sa.Engine):
    """A transaction that holds the database's write lock until it ends (serialises writers across processes).

    SQLite: ``BEGIN IMMEDIATE``. PostgreSQL: a transaction-level advisory lock.
    """
    with engine.connect() as connection:
        if is_sqlite(engine):
            connection = connection.execution_options(meddl_write_lock=True)
        with connection.begin():
            if not is_sqlite(engine):
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(7170616)"))  # any constant: meddl's lock
            yield connection


@contextmanager
def driver_cursor(engine: sa.Engine, *, write_lock: bool = False):
    """A driver (DBAPI) cursor on a pooled connection, for the statements every request runs.

    SQLAlchemy's statement execution (events, result objects, autobegin) cost about three
    times the SQLite statements themselves on the per-request path (sign-in look-up and audit
    row). With ``write_lock=True`` the cursor is in a transaction holding the database's write
    lock, as in :func:`write_transaction`, committed when the block ends. Driver errors are
    raised as SQLAlchemy's ``DBAPIError`` family, so the server answers them as it answers every
    database error (503).
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error
    connection = engine.raw_connection()  # connection errors come wrapped by SQLAlchemy already
    try:
        cursor = connection.cursor()
        try:
            if write_lock:
                cursor.execute("BEGIN IMMEDIATE" if is_sqlite(engine) else "SELECT pg_advisory_xact_lock(7170616)")
            yield cursor
            if write_lock:
                connection.commit()
        except dbapi_error as exc:
            connection.rollback()
            raise sa.exc.DBAPIError.instance(None, None, exc, dbapi_error) from exc
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool (which ends any read transaction)


def database_status(engine: sa.Engine) -> str:
    """``"reachable"``, ``"unreachable"``, or which of meddl's tables (users, audit rows, audit head) are missing.

    A server whose audit table was dropped refuses every prediction (503), so it is not ready either.
    """
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            inspector = sa.inspect(connection)
            missing = [table.name for table in METADATA.sorted_tables if not inspector.has_table(table.name)]
    except sa.exc.SQLAlchemyError:
        return "unreachable"
    return f"missing tables: {', '.join(missing)}" if missing else "reachable"
