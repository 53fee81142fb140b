"""Encryption keys and the ETK depot, end to end over HTTP on SQLite and PostgreSQL.

A request gives the keystore an authentication key and an encryption key; the ETK is
published only after the holder decrypts the platform's challenge (a wrong or replayed
answer is refused); lookups answer per identifier with the ETK, the matching
application ids or an error naming the identifier; answers carry an ETag; renewal keeps
the old encryption key in the keystore and the depot serves only the new ETK;
revocation withdraws the ETK at once; openssl accepts a published ETK.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy import event

from ehcert.client.keys import KeyEntryRequestSigner, decrypt_challenge
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.etk import encryption_entry
from ehcert.manager.renewal import renew_certificate
from ehcert.manager.revocation import revoke_certificate
from ehcert.pki import profiles
from ehcert.pki.etk import parse_etk, verify_etk
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors

NIHII = "10000000001"
RENEWAL_MOMENT = dt.datetime(2029, 1, 15, 8, 0, 0, tzinfo=dt.UTC)


def _refusal(call: Callable[[], object]) -> EhcertError:
    with pytest.raises(EhcertError) as refused:
        call()
    return refused.value


def _lookup(actors: Actors, *identifiers: str) -> list[dict[str, object]]:
    response = httpx.get(f"{actors.env.url}/v1/etk", params=[("id", i) for i in identifiers])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert isinstance(results, list)
    return results


def test_request_creates_both_keys_and_publishes_a_verifiable_etk(actors: Actors) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    keystore = read_keystore_file(path, actors.password)
    authentication = keystore.authentication()
    (encryption,) = keystore.encryption_keys()
    auth_cert, enc_cert = authentication.certificate, encryption.certificate

    assert encryption.alias == str(enc_cert.serial_number)
    assert enc_cert.subject == enc_cert.issuer == auth_cert.subject
    enc_cert.verify_directly_issued_by(auth_cert)  # signed by the new authentication key
    usage = enc_cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_encipherment and usage.value.data_encipherment
    assert not usage.value.digital_signature
    assert (enc_cert.not_valid_before_utc, enc_cert.not_valid_after_utc) == (
        auth_cert.not_valid_before_utc,
        auth_cert.not_valid_after_utc,
    )
    assert encryption.private_key.key_size == 2048
    assert encryption.private_key.public_key() != authentication.private_key.public_key()

    with actors.env.client() as client:
        published = client.etk(f"SSIN={actors.doctor}")
        anchors = client.ca_certificates()
    assert published.encryption_serial == encryption.alias
    assert published.authentication_serial == format(auth_cert.serial_number, "x")
    etk = parse_etk(published.der)
    assert etk.encryption_certificate == enc_cert
    assert etk.authentication_certificate == auth_cert
    assert etk.depot_certificate == anchors.etk_depot
    assert published.encryption_certificate_sha256 == etk.fingerprint_sha256
    verdict = verify_etk(etk, anchors=[anchors.root], at=actors.env.clock.now())
    assert verdict.usable, verdict.reason


def test_the_etk_is_published_only_after_the_right_answer_and_only_once(actors: Actors) -> None:
    actors.add_provider()
    issued = actors.request(actors.eid(), 0)
    authentication = actors.entry(issued, 0)
    encryption = encryption_entry(authentication, actors.keys[1])
    signer = KeyEntryRequestSigner(authentication)
    absent = {"code": "not-found", "message": f"No ETK is published for SSIN={actors.doctor}."}

    with actors.env.client() as client:
        first = client.etk_challenge(signer, encryption.certificate)
        assert _lookup(actors, f"SSIN={actors.doctor}")[0]["error"] == absent

        wrong = _refusal(lambda: client.register_etk(signer, first.id, b"\x00" * 32))
        assert wrong.kind is ErrorKind.UNAUTHORIZED
        assert "answer to the ETK registration challenge is wrong" in wrong.detail
        assert _lookup(actors, f"SSIN={actors.doctor}")[0]["error"] == absent
        # A wrong answer spends the challenge: the right one comes too late.
        right = decrypt_challenge(encryption.private_key, first.encrypted)
        spent = _refusal(lambda: client.register_etk(signer, first.id, right))
        assert spent.kind is ErrorKind.UNAUTHORIZED
        assert "unknown, expired or already answered" in spent.detail

        second = client.etk_challenge(signer, encryption.certificate)
        answer = decrypt_challenge(encryption.private_key, second.encrypted)
        published = client.register_etk(signer, second.id, answer)
        assert published.encryption_serial == encryption.alias
        replayed = _refusal(lambda: client.register_etk(signer, second.id, answer))
        assert replayed.kind is ErrorKind.UNAUTHORIZED
        assert client.etk(f"SSIN={actors.doctor}").etk_sha256 == published.etk_sha256

    actions = [record.action for record in actors.audit_records()]
    assert actions.count("etk-published") == 1


def test_registration_needs_the_newest_certificate_and_its_own_signature(
    actors: Actors,
) -> None:
    actors.add_provider()
    eid = actors.eid()
    authentication = actors.entry(actors.request(eid, 0), 0)
    auth_cert = authentication.certificate
    signer = KeyEntryRequestSigner(authentication)
    encryption = encryption_entry(authentication, actors.keys[1])
    with actors.env.client() as client:
        by_eid = _refusal(lambda: client.etk_challenge(eid.signer, encryption.certificate))
        assert by_eid.kind is ErrorKind.UNAUTHORIZED
        # Right subject and issuer, but signed by another key than the certificate's.
        forged = profiles.ehealth_encryption_builder(
            auth_cert.subject,
            actors.keys[1].public_key(),
            auth_cert,
            serial=profiles.random_serial(),
            not_before=auth_cert.not_valid_before_utc,
            not_after=auth_cert.not_valid_after_utc,
        ).sign(actors.keys[2], hashes.SHA256())
        untrusted = _refusal(lambda: client.etk_challenge(signer, forged))
        assert untrusted.kind is ErrorKind.UNTRUSTED
        assert "not signed by the authentication certificate's key" in untrusted.detail
        # Once a newer certificate exists, the older one can no longer publish.
        newer = actors.request(eid, 3)
        superseded = _refusal(lambda: client.etk_challenge(signer, encryption.certificate))
        assert superseded.kind is ErrorKind.FORBIDDEN
        assert f"superseded by certificate {newer.serial}" in superseded.detail


def test_lookup_answers_each_identifier_as_get_etk_does(actors: Actors) -> None:
    actors.add_provider(nihii=NIHII)
    actors.add_institution()
    eid = actors.eid()
    actors.keystore(eid)
    actors.keystore(eid, institution=actors.hospital, application_id="MYAPP", folder="hospital")

    results = _lookup(
        actors,
        f"SSIN={actors.doctor}",
        f"NIHII={NIHII}",
        actors.hospital,
        f"{actors.hospital},MYAPP",
        "CBE=0123456749",
    )
    doctor, by_nihii, hospital, hospital_app, nobody = results
    assert doctor["etk"] is not None and doctor["error"] is None
    assert by_nihii["etk"] == doctor["etk"]
    assert hospital["etk"] is None and hospital["error"] is None
    assert hospital["matching"] == [
        {"type": "NIHII-HOSPITAL", "value": "71000436", "application_id": "MYAPP"}
    ]
    assert hospital_app["etk"]["holder"] == f"{actors.hospital},MYAPP"  # type: ignore[index]
    assert nobody == {
        "identifier": {"type": "CBE", "value": "0123456749", "application_id": None},
        "etk": None,
        "matching": [],
        "error": {"code": "not-found", "message": "No ETK is published for CBE=0123456749."},
    }

    bad = httpx.get(f"{actors.env.url}/v1/etk", params={"id": "PASSPORT=123"})
    assert bad.status_code == 400
    assert "PASSPORT=123" in bad.json()["detail"]
    assert httpx.get(f"{actors.env.url}/v1/etk").status_code == 400


def test_answers_carry_an_etag_and_revocation_withdraws_the_etk_at_once(actors: Actors) -> None:
    actors.add_provider()
    path = actors.keystore(actors.eid())
    url = f"{actors.env.url}/v1/etk?id=SSIN={actors.doctor}"
    first = httpx.get(url)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = httpx.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag and again.content == b""

    with actors.env.client() as client:
        client.etks([f"SSIN={actors.doctor}"])  # the client keeps the answer and its ETag
        revoke_certificate(client, path, actors.password, "keyCompromise")
        (after,) = client.etks([f"SSIN={actors.doctor}"])
    assert after.etk is None
    assert after.error == f"No ETK is published for SSIN={actors.doctor}."
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_a_kept_answer_costs_no_query_and_ends_with_its_certificate(actors: Actors) -> None:
    actors.add_provider()
    actors.keystore(actors.eid())
    url = f"{actors.env.url}/v1/etk?id=SSIN={actors.doctor}"
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = actors.env.platform.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        first = httpx.get(url)
        made = len(statements)
        statements.clear()
        again = httpx.get(url)
        kept = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["ETag"] == first.headers["ETag"]
    assert made == 1  # the ETK query
    assert kept == 0, statements  # nothing: no decision since

    (result,) = first.json()["results"]
    not_after = dt.datetime.fromisoformat(result["etk"]["not_after"])
    actors.env.clock.set(not_after + dt.timedelta(seconds=1))
    (expired,) = _lookup(actors, f"SSIN={actors.doctor}")
    assert expired["etk"] is None


def test_renewal_keeps_old_encryption_keys_and_the_depot_serves_the_new_etk(
    actors: Actors,
) -> None:
    actors.add_provider()
    old_path = actors.keystore(actors.eid())
    old = read_keystore_file(old_path, actors.password)
    (old_encryption,) = old.encryption_keys()

    actors.env.clock.set(RENEWAL_MOMENT)
    with actors.env.client() as client:
        new_path = renew_certificate(client, old_path, actors.password, RENEWAL_MOMENT)
        current = client.etk(f"SSIN={actors.doctor}")
    renewed = read_keystore_file(new_path, actors.password)
    newest, kept = renewed.encryption_keys()
    assert kept.alias == old_encryption.alias
    assert kept.private_key.private_numbers() == old_encryption.private_key.private_numbers()
    newest.certificate.verify_directly_issued_by(renewed.authentication().certificate)
    assert current.encryption_serial == newest.alias  # only the current ETK is served
    assert parse_etk(current.der).encryption_certificate == newest.certificate

    # Renewing again from the new keystore keeps both earlier encryption keys.
    actors.env.clock.set(dt.datetime(2031, 12, 1, 8, 0, tzinfo=dt.UTC))
    with actors.env.client() as client:
        third = renew_certificate(client, new_path, actors.password, actors.env.clock.now())
    aliases = {
        entry.alias for entry in read_keystore_file(third, actors.password).encryption_keys()
    }
    assert {old_encryption.alias, newest.alias} < aliases and len(aliases) == 3


def test_openssl_cms_verify_accepts_a_published_etk(actors: Actors, tmp_path: Path) -> None:
    actors.add_provider()
    actors.keystore(actors.eid())
    with actors.env.client() as client:
        published = client.etk(f"SSIN={actors.doctor}")
        chain = client.ca_certificates()
    etk_file, ca_file, content = tmp_path / "etk.der", tmp_path / "ca.pem", tmp_path / "enc.der"
    etk_file.write_bytes(published.der)
    ca_file.write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (chain.issuing, chain.root))
    )
    moment = str(int(actors.env.clock.now().timestamp()))
    result = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", etk_file, "-CAfile", ca_file,
         "-attime", moment, "-out", content, "-binary"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert content.read_bytes() == parse_etk(published.der).encryption_certificate.public_bytes(
        serialization.Encoding.DER
    )
