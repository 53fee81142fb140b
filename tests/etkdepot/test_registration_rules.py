"""The rules an encryption certificate must meet before the depot challenges its key."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ehcert.client.keys import build_encryption_certificate
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.etkdepot.lookup import EtkQuery, parse_queries
from ehcert.etkdepot.registration import check_encryption_certificate
from ehcert.pki import profiles

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
        x509.NameAttribute(NameOID.COMMON_NAME, "SSIN=79021802145"),
    ]
)


def _authentication(key: rsa.RSAPrivateKey) -> x509.Certificate:
    """A stand-in for an issued authentication certificate (only its key and name matter)."""
    return (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Issuing CA")]))
        .public_key(key.public_key())
        .serial_number(profiles.random_serial())
        .not_valid_before(T0)
        .not_valid_after(T0 + dt.timedelta(days=1095))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )


def _encryption(
    signing_key: rsa.RSAPrivateKey,
    authentication: x509.Certificate,
    key: rsa.RSAPublicKey,
    usage: x509.KeyUsage,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(SUBJECT)
        .public_key(key)
        .serial_number(profiles.random_serial())
        .not_valid_before(authentication.not_valid_before_utc)
        .not_valid_after(not_after or authentication.not_valid_after_utc)
        .add_extension(usage, critical=True)
        .sign(signing_key, hashes.SHA256())
    )


def _usage(**bits: bool) -> x509.KeyUsage:
    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{name: bits.get(name, False) for name in names})


def _refused(call: object) -> EhcertError:
    with pytest.raises(EhcertError) as refused:
        assert callable(call)
        call()
    return refused.value


def test_the_manager_s_encryption_certificate_passes(
    session_rsa_keys: list[rsa.RSAPrivateKey],
) -> None:
    auth_key, enc_key = session_rsa_keys[0], session_rsa_keys[1]
    authentication = _authentication(auth_key)
    encryption = build_encryption_certificate(auth_key, authentication, enc_key)
    check_encryption_certificate(encryption, authentication, T0 + dt.timedelta(days=1))


def test_refusals_name_the_broken_rule(session_rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    auth_key, enc_key, other = session_rsa_keys[0], session_rsa_keys[1], session_rsa_keys[2]
    authentication = _authentication(auth_key)
    now = T0 + dt.timedelta(days=1)
    good_usage = _usage(key_encipherment=True, data_encipherment=True)

    def check(certificate: x509.Certificate) -> EhcertError:
        return _refused(lambda: check_encryption_certificate(certificate, authentication, now))

    forged = check(_encryption(other, authentication, enc_key.public_key(), good_usage))
    assert forged.kind is ErrorKind.UNTRUSTED
    signing = check(
        _encryption(
            auth_key,
            authentication,
            enc_key.public_key(),
            _usage(key_encipherment=True, data_encipherment=True, digital_signature=True),
        )
    )
    assert signing.kind is ErrorKind.BAD_KEY and "exactly" in signing.detail
    same_key = check(_encryption(auth_key, authentication, auth_key.public_key(), good_usage))
    assert same_key.kind is ErrorKind.BAD_KEY and "differ" in same_key.detail
    outliving = check(
        _encryption(
            auth_key,
            authentication,
            enc_key.public_key(),
            good_usage,
            not_after=authentication.not_valid_after_utc + dt.timedelta(days=1),
        )
    )
    assert "within the authentication certificate's" in outliving.detail
    late = _refused(
        lambda: check_encryption_certificate(
            build_encryption_certificate(auth_key, authentication, enc_key),
            authentication,
            authentication.not_valid_after_utc + dt.timedelta(seconds=1),
        )
    )
    assert "not valid now" in late.detail


def test_small_keys_are_refused(weak_key: rsa.RSAPrivateKey) -> None:
    auth_key = weak_key  # the check reads the encryption key; any signer will do here
    authentication = _authentication(auth_key)
    encryption = _encryption(
        auth_key,
        authentication,
        weak_key.public_key(),
        _usage(key_encipherment=True, data_encipherment=True),
    )
    refusal = _refused(
        lambda: check_encryption_certificate(encryption, authentication, T0 + dt.timedelta(1))
    )
    assert refusal.kind is ErrorKind.BAD_KEY and "2048" in refusal.detail


def test_lookup_identifiers_parse_and_refuse_clearly() -> None:
    assert EtkQuery.parse(" nihii-hospital=71000436,MYAPP ") == EtkQuery(
        "NIHII-HOSPITAL", "71000436", "MYAPP"
    )
    assert str(EtkQuery.parse("SSIN=79021802145")) == "SSIN=79021802145"
    queries = parse_queries(["SSIN=79021802145", "SSIN=79021802145", "CBE=0123456749"])
    assert [str(q) for q in queries] == ["SSIN=79021802145", "CBE=0123456749"]
    for bad in ("SSIN=79021802146", "PASSPORT=1", "SSIN", "CBE=0123456749,lower"):
        refusal = _refused(lambda bad=bad: parse_queries([bad]))
        assert refusal.kind is ErrorKind.MALFORMED and bad in refusal.detail
    too_many = _refused(lambda: parse_queries(["SSIN=79021802145"] * 51))
    assert "At most 50" in too_many.detail
    assert _refused(lambda: parse_queries([])).field == "id"


def test_ec_encryption_certificates_need_key_agreement_and_an_accepted_curve() -> None:
    """eHealth's second-generation ETKs: a P-384 encryption key, keyAgreement only (RFC
    5480 section 3); a curve outside the policy is refused naming it."""
    auth_key = ec.generate_private_key(ec.SECP384R1())
    authentication = _authentication(auth_key)
    now = T0 + dt.timedelta(days=1)
    enc_key = ec.generate_private_key(ec.SECP384R1())
    check_encryption_certificate(
        build_encryption_certificate(auth_key, authentication, enc_key), authentication, now
    )

    def check(certificate: x509.Certificate) -> EhcertError:
        return _refused(lambda: check_encryption_certificate(certificate, authentication, now))

    rsa_usage = check(
        _encryption(
            auth_key,
            authentication,
            enc_key.public_key(),
            _usage(key_encipherment=True, data_encipherment=True),
        )
    )
    assert rsa_usage.kind is ErrorKind.BAD_KEY
    assert rsa_usage.detail == (
        "The encryption certificate needs a critical keyUsage of exactly keyAgreement."
    )
    p192 = ec.generate_private_key(ec.SECP192R1())
    small = check(
        _encryption(auth_key, authentication, p192.public_key(), _usage(key_agreement=True))
    )
    assert small.kind is ErrorKind.BAD_KEY and "(EC (P-192))" in small.detail
    assert small.field == "encryption_certificate"
