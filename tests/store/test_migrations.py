"""The schema comes from Alembic alone, identically on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import StatementError

from ehcert.store.db import Database, alembic_config, migrate, sqlite_url
from ehcert.store.models import GENESIS_HASH, AuditHeadRow, Base, NonceRow
from ehcert.store.testing import PostgresUnavailable, temporary_postgresql_database

EXPECTED_TABLES = {
    "providers",
    "institutions",
    "mandates",
    "certificates",
    "nonces",
    "audit_records",
    "audit_head",
    "crl_numbers",
    "ocsp_responses",
    "eid_credentials",
    "etk_challenges",
    "etks",
    "ehbox_messages",
    "ehbox_parts",
    "ehbox_chunks",
    "ehbox_recipients",
    "ehbox_copies",
    "ehbox_out_of_office",
    "ehbox_boxes",
    "registration_offices",
    "officers",
    "identity_checks",
    "digital_keys",
    "integrators",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it at all."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            yield sqlite_url(tmp_path / "fresh.db")
            return
        try:
            yield stack.enter_context(temporary_postgresql_database())
        except PostgresUnavailable as error:
            pytest.fail(f"PostgreSQL is required for these tests: {error}")


def test_migrate_creates_the_schema_from_nothing(empty_url: str) -> None:
    database = Database(empty_url)
    try:
        assert set(inspect(database.engine).get_table_names()) == set()
        migrate(empty_url)
        tables = set(inspect(database.engine).get_table_names())
        assert tables == EXPECTED_TABLES | {"alembic_version"}
        with database.engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert version == "0008"
            # The models and the migrations describe the same schema.
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        with database.session() as session:
            head = session.execute(select(AuditHeadRow.last_seq, AuditHeadRow.last_hash)).one()
            assert tuple(head) == (0, GENESIS_HASH)
        # Running again is a no-op, not an error.
        database.migrate()
        assert set(inspect(database.engine).get_table_names()) == tables
        # And the way back down removes everything the upgrade made.
        with database.engine.begin() as connection:
            config = alembic_config(empty_url)
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(database.engine).get_table_names()) == {"alembic_version"}
    finally:
        database.dispose()


def test_migration_scripts_are_found_from_the_installed_package() -> None:
    config = alembic_config("sqlite+pysqlite:///:memory:")
    location = Path(config.get_main_option("script_location") or "")
    assert (location / "env.py").is_file()
    assert (location / "script.py.mako").is_file()
    assert any((location / "versions").glob("0001_*.py"))


def test_sqlite_connections_get_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    database = Database(sqlite_url(tmp_path / "pragmas.db"))
    try:
        # Two connections checked out at once: the settings hold on every one of them.
        with database.engine.connect() as first, database.engine.connect() as second:
            for connection in (first, second):
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        database.dispose()


def test_timestamps_come_back_aware_utc(database: Database) -> None:
    brussels_summer = dt.timezone(dt.timedelta(hours=2))
    created = dt.datetime(2031, 7, 1, 14, 30, 15, 123456, tzinfo=brussels_summer)
    with database.session() as session:
        session.add(
            NonceRow(
                value="n" * 20,
                created_at=created,
                expires_at=created + dt.timedelta(minutes=5),
                used_at=None,
            )
        )
    with database.session() as session:
        row = session.scalars(select(NonceRow)).one()
        assert row.created_at == created
        assert row.created_at.tzinfo == dt.UTC
        assert row.created_at.hour == 12
        assert row.created_at.microsecond == 123456
        # Comparisons in SQL use the instant, not the wall-clock text.
        later = dt.datetime(2031, 7, 1, 12, 32, tzinfo=dt.UTC)
        assert session.scalars(select(NonceRow).where(NonceRow.expires_at > later)).one()


def test_naive_timestamps_are_refused(database: Database) -> None:
    # SQLAlchemy wraps the ValueError of the column type in a StatementError.
    with pytest.raises(StatementError, match="timezone-aware"), database.session() as session:
        session.add(
            NonceRow(
                value="naive-nonce-value-1",
                created_at=dt.datetime(2031, 7, 1, 12, 0),
                expires_at=dt.datetime(2031, 7, 1, 12, 5, tzinfo=dt.UTC),
                used_at=None,
            )
        )
        session.flush()


def test_processes_starting_together_migrate_once(empty_url: str) -> None:
    """Several API nodes may run ``migrate`` at the same moment on one database."""
    barrier = threading.Barrier(3)

    def start_node(_: int) -> None:
        barrier.wait(timeout=10)
        migrate(empty_url)

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(start_node, range(3)))
    database = Database(empty_url)
    try:
        assert set(inspect(database.engine).get_table_names()) == EXPECTED_TABLES | {
            "alembic_version"
        }
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(AuditHeadRow)) == 1
    finally:
        database.dispose()
