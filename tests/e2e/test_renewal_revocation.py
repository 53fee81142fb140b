"""Renewal and revocation over HTTP, and the audit trail they leave.

Renewal (eHealth policy): only in the 90 days before expiry, with a new key, for a new
36-month certificate counted from the renewal moment; the platform records which
certificate it replaces. Revocation: by the holder with the keystore, by the holder's
eID when the keystore is lost, by an administrator; the public status shows it with its
reason. Every decision, refusals included, lands in the hash-chained audit log, and an
edit of a stored record is detected.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import text

from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.client.platform import PlatformClient
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.certificate_views import certificate_status
from ehcert.manager.keystores import find_keystores
from ehcert.manager.pending import load_pending_keys, renewal_journal
from ehcert.manager.renewal import renew_certificate
from ehcert.manager.revocation import revoke_certificate, revoke_with_eid
from ehcert.operations import admin_revoke
from ehcert.pki.keystore import read_keystore_file
from ehcert.store.audit import verify_audit_chain
from ehcert.store.testing import example_ssin

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors

RENEWAL_MOMENT = dt.datetime(2029, 1, 15, 8, 0, 0, tzinfo=dt.UTC)
OTHER_PERSON = example_ssin(7)


def _refusal(call: Callable[[], object]) -> EhcertError:
    with pytest.raises(EhcertError) as refused:
        call()
    return refused.value


# --- renewal ------------------------------------------------------------------------------


def test_renewal_in_the_window_gives_a_new_key_and_36_months_from_now(actors: Actors) -> None:
    actors.add_provider()
    old_path = actors.keystore(actors.eid())
    old_bytes = old_path.read_bytes()
    old = read_keystore_file(old_path, actors.password).authentication()
    assert old.certificate.not_valid_after_utc == dt.datetime(2029, 3, 2, 9, 30, tzinfo=dt.UTC)

    actors.env.clock.set(RENEWAL_MOMENT)  # 46 days before expiry
    with actors.env.client() as client:
        new_path = renew_certificate(client, old_path, actors.password, RENEWAL_MOMENT)

    assert new_path != old_path
    assert old_path.read_bytes() == old_bytes  # the old keystore is left as it was
    new = read_keystore_file(new_path, actors.password).authentication()
    assert new.certificate.serial_number != old.certificate.serial_number
    assert new.certificate.public_key() != old.certificate.public_key()
    assert new.certificate.subject == old.certificate.subject
    assert new.certificate.not_valid_before_utc == RENEWAL_MOMENT
    assert new.certificate.not_valid_after_utc == dt.datetime(2032, 1, 15, 8, 0, tzinfo=dt.UTC)
    new_serial = format(new.certificate.serial_number, "x")
    old_serial = format(old.certificate.serial_number, "x")
    record = actors.certificate_record(new_serial)
    assert record.predecessor_serial_hex == old_serial
    assert record.requested_by_ssin == actors.doctor
    renewed = [r for r in actors.audit_records() if r.action == "renewed"]
    assert [json.loads(r.detail) for r in renewed] == [
        {"serial": new_serial, "predecessor": old_serial, "method": "certificate"}
    ]
    assert renewed[0].actor == f"certificate:{old_serial}"
    # The predecessor stays valid until it expires or is revoked.
    with actors.env.client() as client:
        assert client.status(old_serial).status == "valid"


def test_renewal_with_the_same_key_is_refused(actors: Actors) -> None:
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    actors.env.clock.set(RENEWAL_MOMENT)
    signer = KeyEntryRequestSigner(actors.entry(issued, 0))
    with actors.env.client() as client:
        error = _refusal(lambda: client.renew(signer, actors.csr(0), issued.serial))
        accepted = client.renewal_check(signer, issued.serial)
    assert error.kind is ErrorKind.BAD_KEY
    assert error.field == "csr"
    assert error.detail == "Renewal needs a new key pair; the CSR reuses the current key."
    assert accepted.accepted is True  # the window is open: only the key was wrong
    assert accepted.days_before_expiration == 46


def test_a_certificate_is_renewed_once(actors: Actors) -> None:
    """The second renewal of one certificate is refused: its successor replaced it."""
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    actors.env.clock.set(RENEWAL_MOMENT)
    signer = KeyEntryRequestSigner(actors.entry(issued, 0))
    with actors.env.client() as client:
        first = client.renew(signer, actors.csr(1), issued.serial)
        error = _refusal(lambda: client.renew(signer, actors.csr(2), issued.serial))
    assert error.kind is ErrorKind.CONFLICT
    assert error.field == "serial"
    assert error.detail == (
        f"Certificate {issued.serial} has already been renewed; renew its successor, "
        "or make a new request with your eID."
    )
    assert actors.certificate_record(first.serial).predecessor_serial_hex == issued.serial
    refusals = [json.loads(r.detail) for r in actors.audit_records() if r.action == "refused"]
    assert [r["action"] for r in refusals] == ["renew"]


def test_the_same_renewal_asked_again_gets_the_same_successor(actors: Actors) -> None:
    """A client whose answer was lost repeats the renewal with the same CSR."""
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    actors.env.clock.set(RENEWAL_MOMENT)
    signer = KeyEntryRequestSigner(actors.entry(issued, 0))
    with actors.env.client() as client:
        first = client.renew(signer, actors.csr(1), issued.serial)
        audit_before = len(actors.audit_records())
        again = client.renew(signer, actors.csr(1), issued.serial)
    assert again.serial == first.serial
    assert again.certificate == first.certificate
    assert len(actors.audit_records()) == audit_before  # nothing new was decided


def test_an_interrupted_renewal_completes_with_the_same_key(
    actors: Actors, unreachable_url: str
) -> None:
    """The new keys are on disk before the request: a renewal that got no answer is
    completed by running it again, with the same key."""
    actors.add_provider()
    old_path = actors.keystore(actors.eid())
    actors.env.clock.set(RENEWAL_MOMENT)
    with PlatformClient(unreachable_url) as offline:
        error = _refusal(
            lambda: renew_certificate(offline, old_path, actors.password, RENEWAL_MOMENT)
        )
    assert error.kind is ErrorKind.UNAVAILABLE
    saved = load_pending_keys(renewal_journal(old_path), actors.password)
    assert saved is not None
    assert renewal_journal(old_path).stat().st_mode & 0o777 == 0o600
    assert [k.path for k in find_keystores(old_path.parent)] == [old_path]
    with actors.env.client() as client:
        new_path = renew_certificate(client, old_path, actors.password, RENEWAL_MOMENT)
    new = read_keystore_file(new_path, actors.password)
    assert new.authentication().certificate.public_key() == saved[0].public_key()
    assert not renewal_journal(old_path).exists()


def test_a_refused_renewal_forgets_its_keys(actors: Actors) -> None:
    actors.add_provider()
    old_path = actors.keystore(actors.eid())
    actors.env.clock.set(RENEWAL_MOMENT)
    with actors.env.client() as client:
        renew_certificate(client, old_path, actors.password, RENEWAL_MOMENT)
        error = _refusal(
            lambda: renew_certificate(client, old_path, actors.password, RENEWAL_MOMENT)
        )
    assert error.kind is ErrorKind.CONFLICT
    assert not renewal_journal(old_path).exists()


@pytest.fixture
def unreachable_url() -> str:
    """A loopback URL nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- revocation ---------------------------------------------------------------------------


def test_holder_revokes_with_the_keystore(actors: Actors) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    actors.env.clock.advance(dt.timedelta(days=10))
    with actors.env.client() as client:
        answer = revoke_certificate(client, path, actors.password, "keycompromise")
        report = certificate_status(client, path, actors.password, actors.env.clock.now())
    assert answer.status == "revoked"
    assert answer.revocation_reason == "keyCompromise"
    assert answer.revoked_at == dt.datetime(2026, 3, 12, 9, 30, tzinfo=dt.UTC)
    assert report.platform == answer
    assert report.certificate.serial == answer.serial
    # A revoked certificate no longer proves anything, not even to revoke again.
    with actors.env.client() as client:
        again = _refusal(lambda: revoke_certificate(client, path, actors.password, "superseded"))
    assert again.kind is ErrorKind.REVOKED
    assert f"Certificate {answer.serial} is revoked" in again.detail


def test_holder_revokes_with_the_eid_when_the_keystore_is_lost(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    issued = actors.request(eid, 0)
    with actors.env.client() as client:
        answer = revoke_with_eid(
            client, eid.credential, issued.serial.upper(), "cessationOfOperation"
        )
    assert answer.serial == issued.serial
    assert answer.status == "revoked"
    assert answer.revocation_reason == "cessationOfOperation"
    revoked = [r for r in actors.audit_records() if r.action == "revoked"]
    assert [(r.actor, r.subject) for r in revoked] == [("eid:SSIN=79021802145", "SSIN=79021802145")]


def test_admin_revokes_and_the_status_endpoint_shows_reason(actors: Actors) -> None:
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    actors.env.clock.advance(dt.timedelta(hours=5))
    facts = admin_revoke(actors.env.platform, issued.serial, "affiliationChanged", "operator-7")
    assert facts.status == "revoked"

    response = httpx.get(f"{actors.env.url}/v1/certificates/{issued.serial}")

    assert response.status_code == 200
    body = response.json()
    assert body["serial"] == issued.serial
    assert body["status"] == "revoked"
    assert body["revocation_reason"] == "affiliationChanged"
    assert dt.datetime.fromisoformat(body["revoked_at"]) == dt.datetime(
        2026, 3, 2, 14, 30, tzinfo=dt.UTC
    )
    assert body["renewal_window_open"] is False
    assert actors.certificate_record(issued.serial).revoked_by == "admin:operator-7"


def test_revoking_twice_is_a_conflict(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    issued = actors.request(eid, 0)
    with actors.env.client() as client:
        revoke_with_eid(client, eid.credential, issued.serial, "superseded")
        error = _refusal(
            lambda: revoke_with_eid(client, eid.credential, issued.serial, "keyCompromise")
        )
    assert error.kind is ErrorKind.CONFLICT
    assert error.detail == f"Certificate {issued.serial} is already revoked."
    with actors.env.client() as client:
        assert client.status(issued.serial).revocation_reason == "superseded"


def test_another_persons_eid_cannot_revoke(actors: Actors) -> None:
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    stranger = actors.eid(OTHER_PERSON, first_name="Eva", last_name="Peeters")
    with actors.env.client() as client:
        error = _refusal(
            lambda: revoke_with_eid(client, stranger.credential, issued.serial, "keyCompromise")
        )
        status = client.status(issued.serial)
    assert error.kind is ErrorKind.FORBIDDEN
    assert error.detail == (
        f"Certificate {issued.serial} belongs to SSIN=79021802145, not to SSIN {OTHER_PERSON}."
    )
    assert status.status == "valid"


# --- audit --------------------------------------------------------------------------------


def test_audit_chain_holds_every_decision_and_detects_tampering(actors: Actors) -> None:
    actors.add_provider()
    eid = actors.eid()
    first = actors.request(eid, 0)
    second = actors.request(eid, 1)
    stranger = actors.eid(OTHER_PERSON, first_name="Eva", last_name="Peeters")
    with actors.env.client() as client:
        _refusal(lambda: actors.request(stranger, 2))  # not in the registry
        _refusal(
            lambda: revoke_with_eid(client, stranger.credential, first.serial, "keyCompromise")
        )
        actors.env.clock.set(RENEWAL_MOMENT)
        client.renew(KeyEntryRequestSigner(actors.entry(first, 0)), actors.csr(3), first.serial)
        revoke_with_eid(client, eid.credential, second.serial, "keyCompromise")
        _refusal(lambda: revoke_with_eid(client, eid.credential, second.serial, "superseded"))

    records = actors.audit_records()
    actions = [r.action for r in records]
    assert actions.count("issued") == 2
    assert actions.count("renewed") == 1
    assert actions.count("revoked") == 1
    refusals = [json.loads(r.detail) for r in records if r.action == "refused"]
    assert [(d["action"], d["kind"]) for d in refusals] == [
        ("request", "not-in-registry"),
        ("revoke", "forbidden"),
        ("revoke", "conflict"),
    ]
    assert all(isinstance(d["reason"], str) and d["reason"] for d in refusals)
    assert f"SSIN {OTHER_PERSON} is not in the registry" in str(refusals[0]["reason"])
    database = actors.env.platform.database
    with database.session() as session:
        verified = verify_audit_chain(session)
    assert verified.ok, verified.reason
    assert verified.records == len(records)

    target = next(r for r in records if r.action == "revoked")
    forged = json.dumps({"reason": "unspecified", "serial": second.serial}, separators=(",", ":"))
    with database.session() as session:
        session.execute(
            text("UPDATE audit_records SET detail = :detail WHERE seq = :seq"),
            {"detail": forged, "seq": target.seq},
        )
    with database.session() as session:
        tampered = verify_audit_chain(session)
    assert not tampered.ok
    assert tampered.first_bad_seq == target.seq
    assert tampered.reason == f"record {target.seq} was altered: its hash does not match"
