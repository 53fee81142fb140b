"""Nonces are single use, even when several connections race for the same one."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.db import Database
from ehcert.store.models import NonceRow
from ehcert.store.nonces import NonceRepository

T0 = dt.datetime(2031, 3, 1, 9, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(minutes=5)


def _create(database: Database, value: str, now: dt.datetime = T0) -> None:
    with database.session() as session:
        NonceRepository(session).create(value, now, TTL)


def _consume(database: Database, value: str, now: dt.datetime) -> bool:
    with database.session() as session:
        return NonceRepository(session).consume(value, now)


def test_a_nonce_is_accepted_once(database: Database) -> None:
    _create(database, "nonce-accepted-once-1")
    assert _consume(database, "nonce-accepted-once-1", T0 + dt.timedelta(seconds=10))
    assert not _consume(database, "nonce-accepted-once-1", T0 + dt.timedelta(seconds=11))


def test_unknown_and_expired_nonces_are_refused(database: Database) -> None:
    _create(database, "nonce-that-will-expire")
    assert not _consume(database, "nonce-never-issued-xyz", T0)
    assert not _consume(database, "nonce-that-will-expire", T0 + TTL)
    assert not _consume(database, "nonce-that-will-expire", T0 + TTL + dt.timedelta(seconds=1))


def test_a_consumption_rolled_back_leaves_the_nonce_usable(database: Database) -> None:
    _create(database, "nonce-rolled-back-use")
    with pytest.raises(RuntimeError), database.session() as session:
        assert NonceRepository(session).consume("nonce-rolled-back-use", T0)
        raise RuntimeError("the request failed after consuming the nonce")
    assert _consume(database, "nonce-rolled-back-use", T0)


def test_expired_nonces_are_purged_when_new_ones_are_created(database: Database) -> None:
    for index in range(3):
        _create(database, f"old-nonce-number-{index:03d}")
    _create(database, "fresh-nonce-still-alive", T0 + dt.timedelta(minutes=1))
    _create(database, "nonce-created-much-later", T0 + TTL + dt.timedelta(seconds=1))
    with database.session() as session:
        values = set(session.scalars(select(NonceRow.value)))
    assert values == {"fresh-nonce-still-alive", "nonce-created-much-later"}


def test_issuing_the_same_value_twice_is_a_conflict(database: Database) -> None:
    _create(database, "nonce-issued-twice-123")
    with pytest.raises(EhcertError) as raised:
        _create(database, "nonce-issued-twice-123")
    assert raised.value.kind is ErrorKind.CONFLICT


def test_nonce_values_and_lifetimes_are_checked(database: Database) -> None:
    with database.session() as session:
        nonces = NonceRepository(session)
        with pytest.raises(ValueError, match="16 to 128"):
            nonces.create("short", T0, TTL)
        with pytest.raises(ValueError, match="positive"):
            nonces.create("long-enough-nonce-value", T0, dt.timedelta(0))
        with pytest.raises(ValueError, match="timezone-aware"):
            nonces.consume("long-enough-nonce-value", dt.datetime(2031, 3, 1, 9, 0))


@pytest.mark.parametrize("racers", [2, 8])
def test_concurrent_consumers_exactly_one_wins(database: Database, racers: int) -> None:
    """Each racer has its own connection and transaction; they start together."""
    for round_number in range(5):
        value = f"contended-nonce-{racers}-{round_number:02d}"
        _create(database, value)
        barrier = threading.Barrier(racers)

        def race(value: str = value, barrier: threading.Barrier = barrier) -> bool:
            with database.session() as session:
                session.connection()  # check out a connection before the start line
                barrier.wait(timeout=10)
                return NonceRepository(session).consume(value, T0 + dt.timedelta(seconds=1))

        with ThreadPoolExecutor(max_workers=racers) as pool:
            outcomes = list(pool.map(lambda _: race(), range(racers)))
        assert outcomes.count(True) == 1, outcomes
    with database.session() as session:
        used = session.scalar(
            select(func.count()).select_from(NonceRow).where(NonceRow.used_at.is_not(None))
        )
    assert used == 5


def test_outstanding_nonces_are_capped_and_the_oldest_forgotten(database: Database) -> None:
    for index in range(12):
        with database.session() as session:
            NonceRepository(session).create(
                f"capped-nonce-{index:04d}",
                T0 + dt.timedelta(seconds=index),
                TTL,
                max_outstanding=5,
            )
    with database.session() as session:
        kept = sorted(session.scalars(select(NonceRow.value)))
    assert kept == [f"capped-nonce-{index:04d}" for index in range(7, 12)]
    assert not _consume(database, "capped-nonce-0000", T0 + dt.timedelta(seconds=20))
    assert _consume(database, "capped-nonce-0011", T0 + dt.timedelta(seconds=20))
