"""An institution's certificates, requested and managed by its mandated holder, over HTTP.

A hospital (NIHII-HOSPITAL=71000436) with its attestations on record names a person as
certificate holder (a mandate). That person's eID requests certificates for the
hospital, with or without an application id, and the subject is the eHealth institution
DN exactly. When the mandate ends the former holder can no longer renew or revoke, while
the hospital's certificates stay valid unless the operator revokes them too. The
certra-like queries tell the holder what they may do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from cryptography.x509.oid import NameOID

from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.revocation import revoke_with_eid
from ehcert.operations import end_mandate
from ehcert.pki.keystore import read_keystore_file
from ehcert.store.testing import example_ssin

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors

DIRECTOR = example_ssin(31)
OUTSIDER = example_ssin(32)
SECOND_HOSPITAL = "NIHII-HOSPITAL=71000535"
RENEWAL_MOMENT = dt.datetime(2029, 1, 15, 8, 0, tzinfo=dt.UTC)


def _refusal(call: Callable[[], object]) -> EhcertError:
    with pytest.raises(EhcertError) as refused:
        call()
    return refused.value


def _no_mandate(ssin: str) -> str:
    return f"SSIN {ssin} holds no active mandate as certificate holder for NIHII-HOSPITAL=71000436."


def test_mandate_holder_requests_for_the_hospital_with_and_without_application_id(
    actors: Actors,
) -> None:
    actors.add_institution(mandate_holder=DIRECTOR)
    eid = actors.eid(DIRECTOR, first_name="Bart", last_name="Claes")

    plain_path = actors.keystore(eid, institution=actors.hospital)
    app_path = actors.keystore(eid, institution=actors.hospital, application_id="MYAPP")

    plain = read_keystore_file(plain_path, actors.password).authentication().certificate
    app = read_keystore_file(app_path, actors.password).authentication().certificate
    assert [(a.oid, a.value) for a in plain.subject] == [
        (NameOID.COUNTRY_NAME, "BE"),
        (NameOID.ORGANIZATION_NAME, "Federal Government"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "NIHII-HOSPITAL=71000436"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "AZ SINT-JAN BRUGGE"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "eHealth-platform Belgium"),
        (NameOID.COMMON_NAME, "NIHII-HOSPITAL=71000436"),
    ]
    assert [(a.oid, a.value) for a in app.subject] == [
        (NameOID.COUNTRY_NAME, "BE"),
        (NameOID.ORGANIZATION_NAME, "Federal Government"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "MYAPP"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "NIHII-HOSPITAL=71000436"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "AZ SINT-JAN BRUGGE"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "eHealth-platform Belgium"),
        (NameOID.COMMON_NAME, "NIHII-HOSPITAL=71000436, MYAPP"),
    ]
    assert plain_path.name.startswith("NIHII-HOSPITAL=71000436 ")
    assert app_path.name.startswith("NIHII-HOSPITAL=71000436,MYAPP ")
    for certificate in (plain, app):
        assert certificate.not_valid_after_utc == dt.datetime(2029, 3, 2, 9, 30, tzinfo=dt.UTC)
        record = actors.certificate_record(format(certificate.serial_number, "x"))
        assert (record.holder_type, record.holder_value) == ("NIHII-HOSPITAL", "71000436")
        assert record.requested_by_ssin == DIRECTOR
    with actors.env.client() as client:
        status = client.status(format(app.serial_number, "x"))
    assert status.holder == "NIHII-HOSPITAL=71000436,MYAPP"


def test_ended_mandate_stops_renew_and_revoke_but_certificates_stay_valid(actors: Actors) -> None:
    hospital = actors.add_institution(mandate_holder=DIRECTOR)
    eid = actors.eid(DIRECTOR, first_name="Bart", last_name="Claes")
    plain = actors.request(eid, 0, institution=actors.hospital)
    app = actors.request(eid, 1, institution=actors.hospital, application_id="MYAPP")
    actors.env.clock.set(RENEWAL_MOMENT)
    with actors.env.client() as client:
        assert client.renewal_check(eid.signer, plain.serial).accepted is True
        # An institution's certificate cannot renew itself: its holder's eID must sign.
        self_renewal = _refusal(
            lambda: client.renew(
                KeyEntryRequestSigner(actors.entry(plain, 0)), actors.csr(2), plain.serial
            )
        )
    assert self_renewal.kind is ErrorKind.FORBIDDEN
    assert "needs the eID signature of its mandated certificate holder" in self_renewal.detail

    revoked, still_live = end_mandate(
        actors.env.platform, hospital, DIRECTOR, "registry-operator", revoke_certificates=False
    )

    assert revoked == []
    assert {facts.serial_hex for facts in still_live} == {plain.serial, app.serial}
    with actors.env.client() as client:
        renewal = _refusal(lambda: client.renew(eid.signer, actors.csr(2), plain.serial))
        revocation = _refusal(
            lambda: revoke_with_eid(client, eid.credential, app.serial, "keyCompromise")
        )
        check = client.renewal_check(eid.signer, plain.serial)
        statuses = [client.status(plain.serial), client.status(app.serial)]
    assert renewal.kind is ErrorKind.NO_MANDATE
    assert renewal.detail == _no_mandate(DIRECTOR)
    assert revocation.kind is ErrorKind.NO_MANDATE
    assert revocation.detail == _no_mandate(DIRECTOR)
    assert (check.accepted, check.kind, check.reason) == (
        False,
        ErrorKind.NO_MANDATE,
        _no_mandate(DIRECTOR),
    )
    assert [s.status for s in statuses] == ["valid", "valid"]

    # With revoke_certificates the operator withdraws the hospital's certificates as well.
    successor = example_ssin(33)
    actors.env.registry.add_mandate(actors.hospital, successor, RENEWAL_MOMENT, now=RENEWAL_MOMENT)
    actors.env.clock.advance(dt.timedelta(days=1))
    revoked, still_live = end_mandate(
        actors.env.platform, hospital, successor, "registry-operator", revoke_certificates=True
    )
    assert still_live == []
    assert {facts.serial_hex for facts in revoked} == {plain.serial, app.serial}
    with actors.env.client() as client:
        for serial in (plain.serial, app.serial):
            status = client.status(serial)
            assert (status.status, status.revocation_reason) == ("revoked", "affiliationChanged")


def test_certra_queries_answer_for_the_signer(actors: Actors) -> None:
    actors.add_provider()
    actors.add_institution(mandate_holder=actors.doctor)
    actors.add_institution(SECOND_HOSPITAL, "CHU Saint-Pierre", security_norms=False)
    eid = actors.eid()
    own = actors.request(eid, 0)
    hospital = actors.request(eid, 1, institution=actors.hospital)
    myapp = actors.request(eid, 2, institution=actors.hospital, application_id="MYAPP")
    backup = actors.request(eid, 3, institution=actors.hospital, application_id="BACKUP-2")
    own_signer = KeyEntryRequestSigner(actors.entry(own, 0))

    with actors.env.client() as client:
        qualities = client.qualities(eid.signer)
        ids = client.application_ids(eid.signer, actors.hospital)
        revocable = client.revocable(eid.signer)
        revocable_by_certificate = client.revocable(own_signer)
        early = client.renewal_check(eid.signer, hospital.serial)
        revoke_with_eid(client, eid.credential, backup.serial, "cessationOfOperation")
        after_revocation = client.revocable(eid.signer)
        actors.env.clock.set(RENEWAL_MOMENT)
        in_window = client.renewal_check(eid.signer, hospital.serial)

    assert qualities.ssin == actors.doctor
    assert qualities.name == "Bryan Brouckaert"
    assert (qualities.as_self.allowed, qualities.as_self.profession) == (True, "doctor")
    assert qualities.as_self.reason is None
    by_holder = {q.holder: q for q in qualities.institutions}
    assert set(by_holder) == {actors.hospital, SECOND_HOSPITAL}
    assert by_holder[actors.hospital].allowed is True
    assert by_holder[actors.hospital].name == "AZ Sint-Jan Brugge"
    assert by_holder[SECOND_HOSPITAL].allowed is False
    assert by_holder[SECOND_HOSPITAL].reason == (
        "NIHII-HOSPITAL=71000535 has no attestation of the minimum security norms."
    )

    assert ids.holder == actors.hospital
    assert ids.application_ids == ("BACKUP-2", "MYAPP")

    assert {s.serial for s in revocable} == {
        own.serial,
        hospital.serial,
        myapp.serial,
        backup.serial,
    }
    assert [s.serial for s in revocable_by_certificate] == [own.serial]
    assert {s.serial for s in after_revocation} == {own.serial, hospital.serial, myapp.serial}

    assert early.accepted is False
    assert early.kind is ErrorKind.RENEWAL_TOO_EARLY
    assert early.reason is not None and "Renewal opens on 2028-12-02" in early.reason
    assert early.renewal_opens == dt.datetime(2028, 12, 2, 9, 30, tzinfo=dt.UTC)
    assert early.not_after == dt.datetime(2029, 3, 2, 9, 30, tzinfo=dt.UTC)
    assert early.days_before_expiration == 1096
    assert (in_window.accepted, in_window.reason, in_window.kind) == (True, None, None)
    assert in_window.days_before_expiration == 46


def test_application_ids_need_a_mandate(actors: Actors) -> None:
    actors.add_institution(mandate_holder=DIRECTOR)
    outsider = actors.eid(OUTSIDER, first_name="Olivier", last_name="Dupont")
    with actors.env.client() as client:
        error = _refusal(lambda: client.application_ids(outsider.signer, actors.hospital))
        qualities = client.qualities(outsider.signer)
    assert error.kind is ErrorKind.NO_MANDATE
    assert error.detail == _no_mandate(OUTSIDER)
    assert qualities.institutions == ()
    assert qualities.as_self.allowed is False
    assert qualities.as_self.reason == f"SSIN {OUTSIDER} is not in the registry of care providers."
