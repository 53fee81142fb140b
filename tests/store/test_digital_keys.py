"""Digital keys in the store: a TOTP step is spent once even when connections race for it,
failures count atomically, a username is never given twice and a person holds one live
key. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.db import Database
from ehcert.store.digital_keys import DigitalKeyRepository, NewDigitalKey
from ehcert.store.offices import NewIdentityCheck, OfficeRepository

T0 = dt.datetime(2031, 3, 1, 9, 0, tzinfo=dt.UTC)
BIS = "01410100115"
OTHER_BIS = "79221802188"


def _issue(database: Database, username: str, ssin: str = BIS) -> None:
    with database.session() as session:
        offices = OfficeRepository(session)
        if offices.office("IXELLES") is None:
            offices.add_office("IXELLES", "Commune d'Ixelles", "municipality", T0)
        check = offices.record_check(
            NewIdentityCheck(ssin, "passport", "CB1234567", "PT", dt.date(2032, 1, 1),
                             "85071212390", "IXELLES", T0)
        )  # fmt: skip
        DigitalKeyRepository(session).add(
            NewDigitalKey(username, ssin, "$argon2id$hash", "S" * 32, check.id, T0)
        )


def _spend(database: Database, username: str, step: int) -> bool:
    with database.session() as session:
        return DigitalKeyRepository(session).spend_step(username, step)


def test_a_step_is_spent_once_and_never_an_earlier_one(database: Database) -> None:
    _issue(database, "ana.pereira")
    assert _spend(database, "ana.pereira", 100)
    assert not _spend(database, "ana.pereira", 100)
    assert not _spend(database, "ana.pereira", 99)
    assert _spend(database, "ana.pereira", 101)


def test_racing_connections_spend_one_step_once(database: Database) -> None:
    _issue(database, "ana.pereira")
    barrier = threading.Barrier(4)

    def race(_: int) -> bool:
        barrier.wait()
        return _spend(database, "ana.pereira", 500)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(race, range(4)))
    assert outcomes.count(True) == 1


def test_failures_count_and_a_lock_starts_the_count_again(database: Database) -> None:
    _issue(database, "ana.pereira")
    with database.session() as session:
        keys = DigitalKeyRepository(session)
        assert [keys.count_failure("ana.pereira") for _ in range(3)] == [1, 2, 3]
        keys.lock("ana.pereira", T0 + dt.timedelta(minutes=15))
    with database.session() as session:
        record = DigitalKeyRepository(session).by_username("ana.pereira")
    assert record is not None
    assert (record.failed_attempts, record.locked_until) == (0, T0 + dt.timedelta(minutes=15))
    assert _spend(database, "ana.pereira", 7)
    with database.session() as session:
        record = DigitalKeyRepository(session).by_username("ana.pereira")
    assert record is not None and record.locked_until is None


def test_usernames_are_never_given_twice_and_one_live_key_per_person(database: Database) -> None:
    _issue(database, "ana.pereira")
    with pytest.raises(EhcertError) as taken:
        _issue(database, "ana.pereira", OTHER_BIS)
    assert (taken.value.kind, taken.value.field) == (ErrorKind.CONFLICT, "username")
    with pytest.raises(EhcertError) as second:
        _issue(database, "ana.second")
    assert (second.value.kind, second.value.field) == (ErrorKind.CONFLICT, "ssin")
    with database.session() as session:
        revoked = DigitalKeyRepository(session).revoke("ana.pereira", T0, "officer", "lost")
    assert revoked.revoked_at == T0
    _issue(database, "ana.second")  # once revoked, a new key may be issued
    with pytest.raises(EhcertError) as again:
        _issue(database, "ana.pereira", OTHER_BIS)  # but never the old username
    assert again.value.field == "username"
    with database.session() as session, pytest.raises(EhcertError) as twice:
        DigitalKeyRepository(session).revoke("ana.pereira", T0, "officer", "lost")
    assert twice.value.kind is ErrorKind.CONFLICT
