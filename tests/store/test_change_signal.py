"""The change signal moves with every committed decision, in this process and others."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest

from ehcert.store.audit import AuditLog
from ehcert.store.change_signal import ChangeSignal
from ehcert.store.db import Database
from ehcert.store.testing import temporary_postgresql_database

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def _decide(database: Database, subject: str) -> None:
    with database.session() as session:
        AuditLog(session).append(T0, "registry", "test", subject, {"op": "test"})


def _settled(signal: ChangeSignal) -> object:
    """The token once it holds still (on PostgreSQL: once the listener listens)."""
    deadline = time.monotonic() + 10
    token = signal.token()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        again = signal.token()
        if again == token:
            return token
        token = again
    raise AssertionError("the change signal never settled")


def _changes_within(signal: ChangeSignal, before: object, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if signal.token() != before:
            return True
        time.sleep(0.01)
    return False


def test_a_read_moves_nothing_and_a_decision_moves_the_token(database: Database) -> None:
    signal = ChangeSignal(database)
    try:
        before = _settled(signal)
        with database.session() as session:
            AuditLog(session).records(limit=1)
        assert signal.token() == before
        _decide(database, "in-process")
        assert signal.token() != before  # at once, in the process that decided
    finally:
        signal.close()


def test_a_decision_in_another_process_moves_the_token(database: Database) -> None:
    signal = ChangeSignal(database)
    other = Database(database.url)  # as another API process would open it
    try:
        before = _settled(signal)
        _decide(other, "elsewhere")
        assert _changes_within(signal, before)
    finally:
        other.dispose()
        signal.close()


def test_a_rolled_back_decision_moves_nothing(database: Database) -> None:
    signal = ChangeSignal(database)
    try:
        before = _settled(signal)
        try:
            with database.session() as session:
                AuditLog(session).append(T0, "registry", "test", "undone", {"op": "test"})
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
        time.sleep(0.3)
        assert signal.token() == before
    finally:
        signal.close()


def test_a_disposed_database_used_again_still_sees_other_processes(database: Database) -> None:
    """``Database.dispose`` closes the signal's connection or listener; the engine
    reconnects when used again, and so does the signal (a backup's cold copy does this)."""
    signal = ChangeSignal(database)
    other = Database(database.url)
    try:
        before = _settled(signal)
        database.dispose()
        assert signal.token() != before  # reopening counts as a change
        reopened = _settled(signal)
        _decide(other, "after the dispose")
        assert _changes_within(signal, reopened)
    finally:
        other.dispose()
        signal.close()


def test_a_lost_postgresql_listener_warns_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    """The listener retries every second while PostgreSQL is gone; an operator's log gets
    one warning for the outage, not one a second (PostgreSQL only: SQLite has no listener)."""
    caplog.set_level(logging.DEBUG, logger="ehcert.store.change_signal")
    with temporary_postgresql_database() as url:
        database = Database(url)
        before = set(threading.enumerate())
        signal = ChangeSignal(database)
        (listener,) = set(threading.enumerate()) - before
        _settled(signal)

    def about_this_one(words: str) -> list[logging.LogRecord]:
        """This signal's records (other tests' listeners may be retrying too)."""
        return [r for r in caplog.records if r.thread == listener.ident and words in r.getMessage()]

    try:  # the database is dropped under the listener, which now retries
        deadline = time.monotonic() + 15
        while len(about_this_one("still not listening")) < 2:  # it did retry, twice
            assert time.monotonic() < deadline, "the listener stopped retrying"
            time.sleep(0.1)
        warned = [r for r in about_this_one("not listening") if r.levelno >= logging.WARNING]
        assert len(warned) == 1, [r.getMessage() for r in warned]
        assert signal.token() != signal.token()  # deaf: nothing kept is served meanwhile
    finally:
        signal.close()
        database.dispose()
