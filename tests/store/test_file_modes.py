"""The SQLite database and its side files are readable by their owner only (0600).

The registry and the ledger hold personal data; with the common umask 022 a new file
would be 0644, readable by every local user. Checked with ``os.stat`` on real files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ehcert.store.db import Database, sqlite_url


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_database_and_its_side_files_are_0600(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "made-here" / "ehcert.db"
    database = Database(sqlite_url(path))
    try:
        database.migrate()
        with database.engine.connect() as connection:
            connection.execute(text("CREATE TABLE probe (x INTEGER)"))
            connection.execute(text("INSERT INTO probe VALUES (1)"))
            connection.commit()
            side_files = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
            assert all(f.exists() for f in side_files), "WAL mode keeps -wal and -shm open"
            for file in (path, *side_files):
                assert _mode(file) == 0o600, file
    finally:
        database.dispose()
    assert _mode(path.parent) == 0o700


def test_a_rollback_journal_is_0600_too(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "ehcert.db"
    database = Database(sqlite_url(path))
    try:
        with database.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode = DELETE")
            connection.exec_driver_sql("PRAGMA locking_mode = EXCLUSIVE")
            connection.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
            connection.commit()
            connection.exec_driver_sql("BEGIN")
            connection.exec_driver_sql("INSERT INTO probe VALUES (1)")
            journal = path.with_name(path.name + "-journal")
            assert journal.exists()
            assert _mode(journal) == 0o600
            connection.rollback()
    finally:
        database.dispose()


def test_an_old_world_readable_database_is_narrowed_when_opened(
    tmp_path: Path, open_umask: None
) -> None:
    path = tmp_path / "ehcert.db"
    path.touch(mode=0o644)
    wal = path.with_name(path.name + "-wal")
    wal.touch(mode=0o644)
    os.chmod(path, 0o644)
    os.chmod(wal, 0o644)
    database = Database(sqlite_url(path))
    database.dispose()
    assert _mode(path) == 0o600
    assert _mode(wal) == 0o600
