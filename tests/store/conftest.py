"""Store tests run against SQLite and PostgreSQL: every test gets a migrated, empty database.

One database per backend and test module (migrated once), emptied before each test. An
unreachable PostgreSQL fails the tests instead of skipping them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from ehcert.store.db import Database, sqlite_url
from ehcert.store.testing import PostgresUnavailable, reset_tables, temporary_postgresql_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = sqlite_url(tmp_path_factory.mktemp("store") / "ehcert.db")
        else:
            try:
                url = stack.enter_context(temporary_postgresql_database())
            except PostgresUnavailable as error:
                pytest.fail(f"PostgreSQL is required for these tests: {error}")
        database = Database(url)
        stack.callback(database.dispose)
        database.migrate()
        yield database


@pytest.fixture
def database(migrated_database: Database) -> Database:
    reset_tables(migrated_database)
    return migrated_database
