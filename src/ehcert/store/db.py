"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL.

SQLite connections are set up on every connect with ``journal_mode=WAL`` (readers do not
block the writer), ``foreign_keys=ON`` (off by default in SQLite), ``synchronous=FULL``
and a ``busy_timeout`` so a writer waits for the lock instead of failing at once. Use a
file, not ``:memory:`` (each pooled connection would see its own empty database).

Transactions on SQLite: the pysqlite driver begins a transaction just before the first
write of a session, so every write transaction holds SQLite's single write lock from its
first write to its commit. Code that must *read then write* atomically (the audit head,
the CSV import) calls :func:`lock_for_write` first: ``BEGIN IMMEDIATE`` on SQLite, nothing
on PostgreSQL where such code locks rows (``SELECT ... FOR UPDATE``) or writes first.

The schema is only ever created by Alembic (``migrate``), never ``create_all``, so the
migration scripts are what the tests exercise.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, insert, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Key of the PostgreSQL advisory lock that serialises migrations ("ehcert" in ASCII).
MIGRATION_LOCK_KEY = 0x656863657274


# Set in a session's ``info`` by an audit append: the transaction records a decision.
DECIDED = "ehcert.decided"
# PostgreSQL notification channel of committed decisions (``store.change_signal``).
DECISION_CHANNEL = "ehcert_decisions"


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite database file (absolute, so the cwd never matters)."""
    return f"sqlite+pysqlite:///{Path(path).resolve()}"


def _configure_sqlite_connection(
    dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry
) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed transaction survives a power cut too. NORMAL would be faster
        # but may lose the last commits, e.g. the record of a certificate just issued,
        # which then could not be revoked.
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIRECTORY_MODE = 0o700


def private_sqlite_files(url: str) -> None:
    """Make the SQLite database file, and the side files it has, readable by its owner only.

    The registry and the ledger are personal data: with the usual umask a new file is
    0644 and, in a 0755 directory, every local user could read them. The file is made
    0600 before SQLite opens it (and its directory 0700 when made here); SQLite gives its
    write-ahead log, shared-memory and journal files the mode of the database file. A
    file left by an older version with a wider mode is narrowed when it is opened.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=PRIVATE_DIRECTORY_MODE)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for file in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        if file.exists() and stat.S_IMODE(file.stat().st_mode) & 0o077:
            file.chmod(PRIVATE_FILE_MODE)


class Database:
    """One database (URL), its engine and a session factory.

    ``session()`` is the unit of work: commit when the block ends normally, roll back on
    any exception. Repositories take the ``Session`` so several of them share one
    transaction (e.g. revoke + OCSP invalidation + audit record).
    """

    def __init__(self, url: str) -> None:
        if not isinstance(url, str):
            raise TypeError("database url must be a string")
        self.url = url
        if url.startswith("sqlite"):
            private_sqlite_files(url)
            self.engine: Engine = create_engine(
                url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
            event.listen(self.engine, "connect", _configure_sqlite_connection)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._decision_listeners: list[Callable[[], None]] = []
        self._on_dispose: list[Callable[[], None]] = []

    def on_decision(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every commit of a transaction that recorded a decision
        (``store.audit`` marks it with :data:`DECIDED`; ``store.change_signal``)."""
        self._decision_listeners.append(listener)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if session.info.pop(DECIDED, False):
            for listener in self._decision_listeners:
                listener()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (``upgrade head``).

        Several API processes may start at once against one database, so the upgrade runs
        in one transaction under a lock: a transaction-scoped advisory lock on PostgreSQL,
        ``BEGIN IMMEDIATE`` on SQLite (whose DDL is transactional too). The second process
        waits, then finds the schema current and does nothing.
        """
        with self.engine.begin() as connection:
            if self.dialect == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            elif self.dialect == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close every pooled connection (tests, shutdown), and what was opened beside
        them (``store.change_signal``)."""
        for close in self._on_dispose:
            close()
        self._on_dispose.clear()
        self.engine.dispose()

    def on_dispose(self, close: Callable[[], None]) -> None:
        """Call ``close`` when the database is disposed of."""
        self._on_dispose.append(close)


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the shipped migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal '%' in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Run ``alembic upgrade head`` against ``url`` (used by the CLI and tests)."""
    database = Database(url)
    try:
        database.migrate()
    finally:
        database.dispose()


def lock_for_write(session: Session) -> None:
    """Make the session's transaction hold the write lock before it reads (SQLite only).

    On SQLite a transaction that has not written yet is not a transaction at all for the
    driver; ``BEGIN IMMEDIATE`` takes the database's write lock (waiting up to the busy
    timeout), so what is read next cannot change before the commit. If a transaction is
    already open it has written, hence already holds the lock. PostgreSQL needs nothing
    here: callers lock the rows they read (``SELECT ... FOR UPDATE``) or write first.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver_connection = connection.connection.driver_connection
    if isinstance(driver_connection, sqlite3.Connection) and not (driver_connection.in_transaction):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def affected_rows(result: object) -> int:
    """The row count of an UPDATE/DELETE result (``CursorResult.rowcount``)."""
    if not isinstance(result, CursorResult):
        raise TypeError("expected the result of an UPDATE or DELETE statement")
    return int(result.rowcount)


def dialect_insert(session: Session) -> Any:
    """The dialect's ``insert`` construct, which offers ``on_conflict_do_update``.

    Both PostgreSQL and SQLite (3.24+) implement ``INSERT ... ON CONFLICT DO UPDATE``;
    SQLAlchemy exposes it through a dialect-specific ``insert``.
    """
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"no upsert support for the {name} dialect")


def violated_constraint(error: IntegrityError) -> str:
    """Name the constraint (PostgreSQL) or the columns (SQLite) an insert violated.

    The returned text is lower-case and contains the column names thanks to the naming
    convention of ``models.NAMING_CONVENTION``, so callers can test ``"serial_hex" in``.
    """
    original = error.orig
    diag = getattr(original, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if isinstance(name, str) and name:
        return name.lower()
    return str(original).lower()


def insert_unless_taken(
    session: Session, table: type[Any], values: Mapping[str, object]
) -> IntegrityError | None:
    """Insert one row of ``table`` in a savepoint; the IntegrityError when a unique
    constraint refused it (the session's transaction goes on), else None.

    Callers turn the refusal into their own CONFLICT naming the field
    (:func:`violated_constraint` says which constraint, where there are several)."""
    try:
        with session.begin_nested():
            session.execute(insert(table).values(**values))
    except IntegrityError as error:
        return error
    return None
