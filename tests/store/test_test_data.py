"""Test identities and integrator enrolment in the store, on SQLite and PostgreSQL.

A test identity is a row of the registry's own tables marked with its owner; real data
stays unmarked. An enrolment secret is spent by one enrolment only, even when two
connections race with it.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId, Profession
from ehcert.store.db import Database
from ehcert.store.integrators import IntegratorRepository
from ehcert.store.providers import ProviderData, ProviderRepository, ProviderStatus
from ehcert.store.test_data import IntegratorTestData

T0 = dt.datetime(2031, 3, 1, 9, 0, tzinfo=dt.UTC)
OWNER, OTHER = "0123456749", "0202239951"
PERSON, REAL = "00023000183", "79021802145"
HOSPITAL = InstitutionId("NIHII-HOSPITAL", "71999926")


def _add_person(database: Database, owner: str, ssin: str = PERSON) -> None:
    with database.session() as session:
        IntegratorTestData(session).add_person(
            owner, ssin, "Test", "Dokter", Profession.DOCTOR, now=T0
        )


def test_test_identities_are_marked_with_their_owner_and_real_data_is_not(
    database: Database,
) -> None:
    _add_person(database, OWNER)
    with database.session() as session:
        ProviderRepository(session).add(
            ProviderData(REAL, None, Profession.NURSE, "Real", "Person", ProviderStatus.VALIDATED),
            T0,
        )
        data = IntegratorTestData(session)
        data.add_institution(
            OWNER, HOSPITAL, "Test Ziekenhuis", attested_on=T0.date(), authorisation="T", now=T0
        )
        assert data.add_mandate(OWNER, HOSPITAL, PERSON, T0) is not None
    with database.session() as session:
        data = IntegratorTestData(session)
        assert (data.person_owner(PERSON), data.person_owner(REAL)) == (OWNER, None)
        assert data.person_exists(REAL) and not data.person_exists("00023000282")
        assert data.institution_owner(HOSPITAL) == OWNER
        assert [p.ssin for p in data.people(OWNER)] == [PERSON]
        assert [i.institution for i in data.institutions(OWNER)] == [HOSPITAL]
        assert [(m.institution, m.holder_ssin) for m in data.mandates(OWNER)] == [
            (HOSPITAL, PERSON)
        ]
        assert data.people(OTHER) == [] and data.mandates(OTHER) == []
        provider = ProviderRepository(session).by_ssin(PERSON)
    assert provider is not None and provider.status is ProviderStatus.VALIDATED


def test_a_taken_ssin_is_refused_naming_the_field(database: Database) -> None:
    _add_person(database, OWNER)
    with pytest.raises(EhcertError) as refused:
        _add_person(database, OTHER)
    assert (refused.value.kind, refused.value.field) == (ErrorKind.CONFLICT, "ssin")
    with database.session() as session:
        assert IntegratorTestData(session).person_owner(PERSON) == OWNER


def _integrator(database: Database) -> None:
    with database.session() as session:
        repository = IntegratorRepository(session)
        repository.add(OWNER, "Software NV", "FORM-1", T0)
        assert repository.set_enrolment_secret(OWNER, "a" * 64, T0 + dt.timedelta(days=30))


def test_an_enrolment_secret_is_spent_once_and_not_after_it_expires(database: Database) -> None:
    _integrator(database)
    later = T0 + dt.timedelta(days=31)
    with database.session() as session:
        repository = IntegratorRepository(session)
        assert not repository.spend_enrolment_secret(OWNER, "b" * 64, "abc", T0)
        assert not repository.spend_enrolment_secret(OWNER, "a" * 64, "abc", later)
        assert repository.spend_enrolment_secret(OWNER, "a" * 64, "abc", T0)
        assert not repository.spend_enrolment_secret(OWNER, "a" * 64, "def", T0)
    with database.session() as session:
        repository = IntegratorRepository(session)
        found = repository.by_certificate_serial("abc")
        assert found is not None and found.cbe == OWNER
        assert found.enrolment_expires_at is None
        assert repository.enrolment_secret_sha256(OWNER) is None
        assert not repository.set_enrolment_secret(OTHER, "c" * 64, T0)


def test_racing_enrolments_spend_one_secret_once(database: Database) -> None:
    _integrator(database)
    barrier = threading.Barrier(4)

    def race(index: int) -> bool:
        barrier.wait()
        with database.session() as session:
            return IntegratorRepository(session).spend_enrolment_secret(
                OWNER, "a" * 64, f"serial{index}", T0
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(race, range(4)))
    assert outcomes.count(True) == 1
