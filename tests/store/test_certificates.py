"""Certificates: uniqueness held by the database, holder queries, revocation, CRL entries."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder
from ehcert.core.revocation import REVOCATION_REASONS
from ehcert.store.certificates import (
    CertificateReader,
    CertificateRepository,
    NewCertificate,
)
from ehcert.store.db import Database
from ehcert.store.models import CertificateRow
from ehcert.store.ocsp_cache import OcspCache

ISSUED = dt.datetime(2031, 1, 15, 10, 0, tzinfo=dt.UTC)
THREE_YEARS = dt.timedelta(days=3 * 365)
PERSON = ("SSIN", "79021802145")
HOSPITAL = ("NIHII-HOSPITAL", "71000436")


def key_hash(label: str) -> str:
    return hashlib.sha256(f"public key {label}".encode()).hexdigest()


def new_certificate(
    serial_hex: str,
    *,
    key: str | None = None,
    holder: tuple[str, str] = PERSON,
    application_id: str | None = None,
    not_before: dt.datetime = ISSUED,
    environment: str = "acceptance",
    predecessor: str | None = None,
) -> NewCertificate:
    return NewCertificate(
        serial_hex=serial_hex,
        environment=environment,
        usage="authentication",
        holder_type=holder[0],
        holder_value=holder[1],
        application_id=application_id,
        subject_dn=f"CN={holder[0]}={holder[1]},O=Federal Government,C=BE",
        not_before=not_before,
        not_after=not_before + THREE_YEARS,
        der=b"\x30\x82" + bytes.fromhex(serial_hex.rjust(2 * ((len(serial_hex) + 1) // 2), "0")),
        public_key_sha256=key_hash(key or serial_hex),
        requested_by_ssin="79021802145",
        predecessor_serial_hex=predecessor,
        created_at=not_before,
    )


def add(database: Database, certificate: NewCertificate) -> None:
    with database.session() as session:
        CertificateRepository(session).add(certificate)


def test_an_added_certificate_reads_back_as_an_immutable_record(database: Database) -> None:
    add(database, new_certificate("0a1b2c"))
    with database.session() as session:
        record = CertificateReader(session).by_serial("0a1b2c")
    assert record is not None
    assert record.status == "valid"
    assert record.holder == Holder("SSIN", "79021802145")
    assert record.not_after == ISSUED + THREE_YEARS
    assert record.not_before.tzinfo == dt.UTC
    assert record.der.startswith(b"\x30\x82")
    assert record.is_valid_at(ISSUED + dt.timedelta(days=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "revoked"  # type: ignore[misc]


def test_duplicate_serial_is_a_conflict(database: Database) -> None:
    add(database, new_certificate("1001"))
    with pytest.raises(EhcertError) as raised:
        add(database, new_certificate("1001", key="another key"))
    assert raised.value.kind is ErrorKind.CONFLICT
    assert raised.value.field == "serial"


def test_a_public_key_is_certified_at_most_once(database: Database) -> None:
    add(database, new_certificate("2001", key="shared"))
    with pytest.raises(EhcertError) as raised:
        add(database, new_certificate("2002", key="shared"))
    assert raised.value.kind is ErrorKind.CONFLICT
    assert raised.value.field == "public_key"
    with database.session() as session:
        assert CertificateReader(session).by_serial("2002") is None


@pytest.mark.parametrize("column", ["serial_hex", "public_key_sha256"])
def test_the_database_itself_rejects_duplicates(database: Database, column: str) -> None:
    """Bypass the repository: the unique constraints are in the schema, not in Python."""
    add(database, new_certificate("3001", key="k3001"))
    row = dataclasses.asdict(new_certificate("3002", key="k3002"))
    row[column] = {"serial_hex": "3001", "public_key_sha256": key_hash("k3001")}[column]
    with pytest.raises(IntegrityError) as raised, database.session() as session:
        session.execute(insert(CertificateRow).values(status="valid", **row))
    assert column in str(raised.value.orig).lower()


def test_an_unknown_predecessor_is_refused(database: Database) -> None:
    with pytest.raises(EhcertError) as raised:
        add(database, new_certificate("4002", predecessor="4001"))
    assert raised.value.kind is ErrorKind.NOT_FOUND
    add(database, new_certificate("4001"))
    add(database, new_certificate("4002", predecessor="4001"))


def test_new_certificates_are_checked_before_the_database(database: Database) -> None:
    with pytest.raises(ValueError, match="lower-case hex"):
        new_certificate("0A1B")
    with pytest.raises(ValueError, match="environment"):
        new_certificate("0a1b", environment="staging")
    with pytest.raises(ValueError, match="timezone-aware"):
        new_certificate("0a1b", not_before=dt.datetime(2031, 1, 1))


def test_for_holder_distinguishes_application_ids_and_validity(database: Database) -> None:
    add(database, new_certificate("5001", holder=HOSPITAL))
    add(database, new_certificate("5002", holder=HOSPITAL, application_id="PACS"))
    add(
        database,
        new_certificate(
            "5003",
            holder=HOSPITAL,
            application_id="PACS",
            not_before=ISSUED - THREE_YEARS - dt.timedelta(days=30),
        ),
    )
    add(database, new_certificate("5004", holder=HOSPITAL, application_id="LIS"))
    with database.session() as session:
        CertificateRepository(session).revoke("5004", "superseded", ISSUED, "admin")
    now = ISSUED + dt.timedelta(days=10)
    with database.session() as session:
        reader = CertificateReader(session)
        without_app = reader.for_holder(*HOSPITAL, None)
        pacs_all = reader.for_holder(*HOSPITAL, "PACS")
        pacs_valid = reader.for_holder(*HOSPITAL, "PACS", only_valid=True, now=now)
        lis_valid = reader.for_holder(*HOSPITAL, "LIS", only_valid=True, now=now)
        application_ids = reader.application_ids_for(*HOSPITAL)
        with pytest.raises(ValueError, match="needs now"):
            reader.for_holder(*HOSPITAL, None, only_valid=True)
    assert [record.serial_hex for record in without_app] == ["5001"]
    assert [record.serial_hex for record in pacs_all] == ["5002", "5003"]  # newest first
    assert [record.serial_hex for record in pacs_valid] == ["5002"]
    assert lis_valid == []
    assert application_ids == [None, "LIS", "PACS"]


def test_revocation_is_recorded_once_and_clears_the_ocsp_cache(database: Database) -> None:
    add(database, new_certificate("6001"))
    revoked_at = ISSUED + dt.timedelta(days=100)
    with database.session() as session:
        OcspCache(session).put(
            "6001", b"good", revoked_at - dt.timedelta(hours=1), revoked_at + dt.timedelta(hours=23)
        )
    with database.session() as session:
        record = CertificateRepository(session).revoke(
            "6001", "keyCompromise", revoked_at, "SSIN=79021802145"
        )
    assert record.status == "revoked"
    assert record.revoked_at == revoked_at
    assert record.revocation_reason == "keyCompromise"
    assert record.revoked_by == "SSIN=79021802145"
    assert not record.is_valid_at(revoked_at + dt.timedelta(seconds=1))
    with database.session() as session:
        assert OcspCache(session).get("6001", revoked_at) is None
    with pytest.raises(EhcertError) as raised, database.session() as session:
        CertificateRepository(session).revoke("6001", "superseded", revoked_at, "admin")
    assert raised.value.kind is ErrorKind.CONFLICT
    assert revoked_at.isoformat() in raised.value.detail


def test_revoking_an_unknown_certificate_or_with_an_unknown_reason(database: Database) -> None:
    with pytest.raises(EhcertError) as raised, database.session() as session:
        CertificateRepository(session).revoke("dead", "superseded", ISSUED, "admin")
    assert raised.value.kind is ErrorKind.NOT_FOUND
    add(database, new_certificate("beef"))
    with pytest.raises(ValueError, match="unknown revocation reason"), database.session() as s:
        CertificateRepository(s).revoke("beef", "removeFromCRL", ISSUED, "admin")
    assert "keyCompromise" in REVOCATION_REASONS


def test_concurrent_revocations_exactly_one_succeeds(database: Database) -> None:
    add(database, new_certificate("7001"))
    barrier = threading.Barrier(4)

    def revoke(index: int) -> str:
        with database.session() as session:
            session.connection()
            barrier.wait(timeout=10)
            try:
                CertificateRepository(session).revoke("7001", "superseded", ISSUED, f"r{index}")
            except EhcertError as error:
                return error.kind.value
            return "revoked"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(revoke, range(4)))
    assert outcomes == ["conflict", "conflict", "conflict", "revoked"]


def test_revoked_lists_crl_entries_per_environment(database: Database) -> None:
    old_start = ISSUED - THREE_YEARS - dt.timedelta(days=10)
    add(database, new_certificate("8001"))
    add(database, new_certificate("8002", not_before=old_start))
    add(database, new_certificate("8003", environment="production"))
    add(database, new_certificate("8004"))
    with database.session() as session:
        repository = CertificateRepository(session)
        repository.revoke("8002", "cessationOfOperation", old_start + dt.timedelta(days=1), "a")
        repository.revoke("8001", "keyCompromise", ISSUED + dt.timedelta(days=2), "a")
        repository.revoke("8003", "affiliationChanged", ISSUED + dt.timedelta(days=3), "a")
    with database.session() as session:
        reader = CertificateReader(session)
        acceptance = reader.revoked("acceptance")
        current = reader.revoked("acceptance", not_expired_at=ISSUED)
        production = reader.revoked("production")
    assert [(entry.serial_hex, entry.reason) for entry in acceptance] == [
        ("8002", "cessationOfOperation"),
        ("8001", "keyCompromise"),
    ]
    assert [entry.serial_hex for entry in current] == ["8001"]
    assert [entry.serial_hex for entry in production] == ["8003"]
