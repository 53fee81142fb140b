"""A doctor whose eID card is of today (an EC P-384 key, applet 1.8, in SoftHSM2) gets an
EC P-384 certificate and EC P-384 encryption key over HTTP, under the platform's RSA CA
(a mixed chain); the STS gives the EC certificate a holder-of-key token that xmlsec1
verifies; the EC doctor renews and keeps the old encryption key; an RSA doctor moves to
EC on renewal and keeps the RSA encryption key. On SQLite and PostgreSQL (``env``)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from ehcert.client.eid import Pkcs11EidCredential, default_algorithm
from ehcert.client.keys import KeyEntryRequestSigner
from ehcert.client.sts import StsClient
from ehcert.manager.certificates import request_certificate
from ehcert.manager.messages import seal_for, unseal_file
from ehcert.manager.renewal import renew_certificate
from ehcert.operations import issue_test_eid
from ehcert.pki.keystore import read_keystore_file
from ehcert.pki.lint import LintProfile, blocking, lint_certificate

if TYPE_CHECKING:
    from tests.e2e.conftest import Actors, SoftHsmTokens

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
RENEWAL_MOMENT = dt.datetime(2029, 1, 15, 8, 0, tzinfo=dt.UTC)
HOLDER_SSIN = "urn:be:fgov:ehealth:1.0:certificateholder:person:ssin"
DOCTOR_BOOL = "urn:be:fgov:person:ssin:doctor:boolean"


def _ec_card(actors: Actors, softhsm_tokens: SoftHsmTokens) -> Pkcs11EidCredential:
    token = softhsm_tokens.new("eid-ec")
    issue_test_eid(
        actors.env.platform,
        actors.doctor,
        token.pin,
        pkcs11_module=MODULE,
        token_label=token.label,
        key_type="ec-p384",
    )
    return Pkcs11EidCredential(MODULE, token.label, token.pin)


def _ec_doctor(actors: Actors, softhsm_tokens: SoftHsmTokens) -> Path:
    actors.add_provider()
    card = _ec_card(actors, softhsm_tokens)
    key = card.certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1"
    assert default_algorithm(card) == "ES384"  # detected from the card, never asked
    with actors.env.client() as client:
        return request_certificate(
            client,
            card,
            institution=None,
            application_id=None,
            out_dir=actors.directory / "ks",
            password=actors.password,
            environment_hint="acceptance",
            now=actors.env.clock.now(),
            key_type="ec-p384",
        )


def _curve(key: object) -> str:
    assert isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey)
    return key.curve.name


def test_ec_eid_doctor_gets_ec_certificate_and_encryption_key(
    actors: Actors, softhsm_tokens: SoftHsmTokens, tmp_path: Path
) -> None:
    path = _ec_doctor(actors, softhsm_tokens)
    keystore = read_keystore_file(path, actors.password)
    authentication = keystore.authentication()
    (encryption,) = keystore.encryption_keys()
    assert _curve(authentication.private_key) == "secp384r1"
    assert _curve(encryption.private_key) == "secp384r1"
    certificate = authentication.certificate
    # EC leaf under the RSA issuing CA: the CA's own algorithm signs it.
    assert certificate.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
    usage = _ku(certificate)
    assert usage.digital_signature and usage.content_commitment and not usage.key_encipherment
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert blocking(lint_certificate(der, LintProfile.END_ENTITY)) == []
    # The encryption certificate: signed by the EC authentication key, keyAgreement only.
    enc = encryption.certificate
    assert enc.signature_algorithm_oid == SignatureAlgorithmOID.ECDSA_WITH_SHA384
    enc.verify_directly_issued_by(certificate)
    enc_usage = _ku(enc)
    assert enc_usage.key_agreement and not enc_usage.key_encipherment
    # The depot published the ETK after the ECDH proof of possession.
    published = [r for r in actors.audit_records() if r.action == "etk-published"]
    assert len(published) == 1 and encryption.alias in str(published[0].detail)
    answer = httpx.get(f"{actors.env.url}/v1/etk", params={"id": f"SSIN={actors.doctor}"})
    assert answer.status_code == 200
    # openssl reads the keystore: two EC keys, both P-384.
    keys = subprocess.run(
        ["openssl", "pkcs12", "-in", str(path), "-nocerts", "-nodes", "-passin", "stdin"],
        input=actors.password,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert keys.count("BEGIN PRIVATE KEY") == 2
    for pem in keys.split("-----END PRIVATE KEY-----")[:2]:
        start = pem.index("-----BEGIN PRIVATE KEY-----")
        loaded = serialization.load_pem_private_key(
            (pem[start:] + "-----END PRIVATE KEY-----\n").encode(), None
        )
        assert _curve(loaded) == "secp384r1"


def _ku(certificate):  # type: ignore[no-untyped-def]
    from cryptography import x509

    return certificate.extensions.get_extension_for_class(x509.KeyUsage).value


def test_sts_token_for_the_ec_doctor_verifies_with_xmlsec1(
    actors: Actors, softhsm_tokens: SoftHsmTokens, tmp_path: Path
) -> None:
    path = _ec_doctor(actors, softhsm_tokens)
    signer = KeyEntryRequestSigner(read_keystore_file(path, actors.password).authentication())
    assert signer.alg == "ES384"
    with StsClient(actors.env.url, signer, clock=actors.env.clock) as client:
        token = client.token([HOLDER_SSIN, DOCTOR_BOOL])
    granted = {a.name: a.value for a in token.attributes}
    assert granted == {HOLDER_SSIN: actors.doctor, DOCTOR_BOOL: True}
    assert b"<ds:X509Certificate>" in token.xml or b"X509Certificate" in token.xml
    pem = tmp_path / "sts.pem"
    pem.write_bytes(httpx.get(f"{actors.env.url}/sts/certificate").content)
    xml = tmp_path / "token.xml"
    xml.write_bytes(token.xml)
    verified = subprocess.run(
        [
            "xmlsec1",
            "--verify",
            "--pubkey-cert-pem",
            str(pem),
            "--id-attr:AssertionID",
            "urn:oasis:names:tc:SAML:1.0:assertion:Assertion",
            str(xml),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr


def test_ec_doctor_renews_and_keeps_the_old_encryption_key(
    actors: Actors, softhsm_tokens: SoftHsmTokens
) -> None:
    old_path = _ec_doctor(actors, softhsm_tokens)
    (old_encryption,) = read_keystore_file(old_path, actors.password).encryption_keys()
    actors.env.clock.set(RENEWAL_MOMENT)
    with actors.env.client() as client:
        new_path = renew_certificate(client, old_path, actors.password, RENEWAL_MOMENT)
    renewed = read_keystore_file(new_path, actors.password)
    assert _curve(renewed.authentication().private_key) == "secp384r1"  # the type is kept
    newest, kept = renewed.encryption_keys()
    assert kept.alias == old_encryption.alias
    assert _curve(newest.private_key) == "secp384r1"


def test_rsa_doctor_moves_to_ec_on_renewal_and_keeps_the_rsa_encryption_key(
    actors: Actors,
) -> None:
    actors.add_provider()
    old_path = actors.keystore(actors.eid())
    (old_encryption,) = read_keystore_file(old_path, actors.password).encryption_keys()
    assert isinstance(old_encryption.private_key, rsa.RSAPrivateKey)
    actors.env.clock.set(RENEWAL_MOMENT)
    with actors.env.client() as client:
        new_path = renew_certificate(
            client, old_path, actors.password, RENEWAL_MOMENT, key_type="ec-p384"
        )
    renewed = read_keystore_file(new_path, actors.password)
    assert _curve(renewed.authentication().private_key) == "secp384r1"
    newest, kept = renewed.encryption_keys()
    assert _curve(newest.private_key) == "secp384r1"
    assert isinstance(kept.private_key, rsa.RSAPrivateKey)
    assert kept.private_key.private_numbers() == old_encryption.private_key.private_numbers()


RSA_DOCTOR = "85071212390"


def test_rsa_and_ec_doctors_exchange_sealed_messages_and_the_ec_doctor_renews(
    actors: Actors, softhsm_tokens: SoftHsmTokens
) -> None:
    """Both ways between an RSA and an EC doctor (ECDH to the EC one, RSA key transport
    to the other, each signed by its sender's key); after renewal the EC doctor still
    opens the message sealed for the old EC encryption key."""
    env = actors.env
    ec_path = _ec_doctor(actors, softhsm_tokens)
    actors.add_provider(RSA_DOCTOR, first_name="Zoë", last_name="Lefèvre")
    rsa_eid = actors.eid(RSA_DOCTOR, first_name="Zoë", last_name="Lefèvre")
    rsa_path = actors.keystore(rsa_eid, folder="rsa")
    ec_store = read_keystore_file(ec_path, actors.password)
    rsa_store = read_keystore_file(rsa_path, actors.password)
    with env.client() as client:
        root = client.ca_certificates().root
        to_ec, _ = seal_for(
            client,
            rsa_store,
            [f"SSIN={actors.doctor}"],
            b"from the RSA doctor",
            now=env.clock.now(),
        )
        to_rsa, _ = seal_for(
            client, ec_store, [f"SSIN={RSA_DOCTOR}"], b"from the EC doctor", now=env.clock.now()
        )
    for path, message, text in (
        (ec_path, to_ec, b"from the RSA doctor"),
        (rsa_path, to_rsa, b"from the EC doctor"),
        (ec_path, to_rsa, b"from the EC doctor"),  # the sender's own copy
    ):
        opened = unseal_file(path, actors.password, message, anchors=[root], now=env.clock.now())
        assert opened.content == text
        assert opened.report.data.valid
        assert opened.report.trust.trusted, opened.report.trust.issues

    env.clock.set(RENEWAL_MOMENT)
    with env.client() as client:
        renewed = renew_certificate(client, ec_path, actors.password, RENEWAL_MOMENT)
    opened = unseal_file(renewed, actors.password, to_ec, anchors=[root], now=env.clock.now())
    assert opened.content == b"from the RSA doctor"
