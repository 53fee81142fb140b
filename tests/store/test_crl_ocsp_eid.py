"""CRL numbers, the OCSP response cache and test eID credentials."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.exc import IntegrityError

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.crl_numbers import CrlNumbers, next_crl_number
from ehcert.store.db import Database
from ehcert.store.eid import EidRepository
from ehcert.store.ocsp_cache import OcspCache

T0 = dt.datetime(2031, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_crl_numbers_increase_per_environment(database: Database) -> None:
    with database.session() as session:
        assert CrlNumbers(session).last("acceptance") is None
        assert next_crl_number(session, "acceptance") == 1
        assert next_crl_number(session, "acceptance") == 2
        assert next_crl_number(session, "production") == 1
    with database.session() as session:
        assert CrlNumbers(session).next("acceptance") == 3
        assert CrlNumbers(session).last("acceptance") == 3
        assert CrlNumbers(session).last("production") == 1
        with pytest.raises(ValueError, match="environment"):
            next_crl_number(session, "staging")


def test_concurrent_crl_numbers_are_all_different(database: Database) -> None:
    def take(_: int) -> int:
        with database.session() as session:
            return next_crl_number(session, "production")

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(take, range(30)))
    assert sorted(numbers) == list(range(1, 31))


def test_a_rolled_back_crl_number_is_handed_out_again(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        assert next_crl_number(session, "acceptance") == 1
        raise RuntimeError("signing the CRL failed")
    with database.session() as session:
        assert next_crl_number(session, "acceptance") == 1


def test_ocsp_cache_serves_fresh_responses_only(database: Database) -> None:
    next_update = T0 + dt.timedelta(hours=24)
    with database.session() as session:
        cache = OcspCache(session)
        assert cache.get("abcd", T0) is None
        cache.put("abcd", b"response-1", T0, next_update)
    with database.session() as session:
        cache = OcspCache(session)
        cached = cache.get("abcd", T0 + dt.timedelta(hours=1))
        assert cached is not None and cached.der == b"response-1"
        assert cached.next_update == next_update
        assert cache.get("abcd", next_update) is None  # stale at nextUpdate
        cache.put("abcd", b"response-2", next_update, next_update + dt.timedelta(hours=24))
    with database.session() as session:
        cache = OcspCache(session)
        replaced = cache.get("abcd", next_update)
        assert replaced is not None and replaced.der == b"response-2"
        cache.invalidate("abcd")
        assert cache.get("abcd", next_update) is None
        with pytest.raises(ValueError, match="after produced_at"):
            cache.put("abcd", b"x", T0, T0)


def test_ocsp_cache_never_serves_a_response_produced_in_the_future(database: Database) -> None:
    """After a start under a clock set ahead, an answer "from tomorrow" stays unserved."""
    tomorrow = T0 + dt.timedelta(days=1)
    with database.session() as session:
        OcspCache(session).put("abcd", b"from-tomorrow", tomorrow, tomorrow + dt.timedelta(days=1))
    with database.session() as session:
        cache = OcspCache(session)
        assert cache.get("abcd", T0) is None
        assert cache.get("abcd", tomorrow - dt.timedelta(seconds=1)) is None
        served = cache.get("abcd", tomorrow)
        assert served is not None and served.der == b"from-tomorrow"


def test_eid_credentials_are_revoked_once(database: Database) -> None:
    with database.session() as session:
        eids = EidRepository(session)
        eids.add("e1", "79021802145", T0 + dt.timedelta(days=3650))
        eids.add("e2", "79021802145", T0 + dt.timedelta(days=365))
        OcspCache(session).put("e1", b"good", T0, T0 + dt.timedelta(hours=1))
    with database.session() as session:
        eids = EidRepository(session)
        assert [credential.serial_hex for credential in eids.for_ssin("79021802145")] == [
            "e1",
            "e2",
        ]
        revoked = eids.revoke("e1", "keyCompromise", T0)
        assert revoked.is_revoked and revoked.revocation_reason == "keyCompromise"
        assert OcspCache(session).get("e1", T0) is None
    with database.session() as session:
        eids = EidRepository(session)
        with pytest.raises(EhcertError) as again:
            eids.revoke("e1", "superseded", T0)
        assert again.value.kind is ErrorKind.CONFLICT
        with pytest.raises(EhcertError) as unknown:
            eids.revoke("e9", "superseded", T0)
        assert unknown.value.kind is ErrorKind.NOT_FOUND
        with pytest.raises(ValueError, match="mod-97"):
            eids.add("e3", "79021802146", T0)


def test_a_duplicate_eid_serial_is_a_conflict(database: Database) -> None:
    with database.session() as session:
        EidRepository(session).add("e1", "79021802145", T0)
    with pytest.raises(EhcertError) as raised, database.session() as session:
        EidRepository(session).add("e1", "79021802145", T0)
    assert raised.value.kind is ErrorKind.CONFLICT


def test_eid_revocation_must_be_complete_in_the_database(database: Database) -> None:
    """A revocation date without a reason is refused by a CHECK constraint."""
    from sqlalchemy import insert

    from ehcert.store.models import EidCredentialRow

    with pytest.raises(IntegrityError), database.session() as session:
        session.execute(
            insert(EidCredentialRow).values(
                serial_hex="e5", ssin="79021802145", not_after=T0, revoked_at=T0
            )
        )
