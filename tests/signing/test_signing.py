"""Prepare, lint, sign: certificates, CRL and OCSP response with file and HSM keys.

Every signed object is checked by independent code: ``openssl verify`` / ``openssl crl``
/ ``openssl ocsp`` for signatures and paths, pkilint (again, on the final DER) for the
profile.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import lint, signing
from ehcert.pki.signer import PrivateKeySigner

DER = serialization.Encoding.DER
PEM = serialization.Encoding.PEM


def _blocking_codes(der: bytes, profile: lint.LintProfile) -> list[str]:
    return [f.code for f in lint.blocking(lint.lint_certificate(der, profile))]


def _write(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(PEM) for c in certs))
    return path


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, timeout=30
    )


class CountingSigner:
    """A real signer that also records how often it was asked to sign."""

    def __init__(self, inner: PrivateKeySigner) -> None:
        self.inner = inner
        self.calls = 0

    def public_key(self) -> rsa.RSAPublicKey:
        return self.inner.public_key()

    def sign(self, data: bytes) -> bytes:
        self.calls += 1
        return self.inner.sign(data)


class MismatchedSigner:
    """A misconfigured signer: it announces one key and signs with another."""

    def __init__(self, announced: PrivateKeySigner, signing: PrivateKeySigner) -> None:
        self._announced = announced
        self._signing = signing

    def public_key(self) -> rsa.RSAPublicKey:
        return self._announced.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._signing.sign(data)


# --- certificates ------------------------------------------------------------------------


def test_every_certificate_is_lint_clean_and_signed_by_its_issuer(hierarchy) -> None:
    h = hierarchy
    cases = [
        (h.root, h.root, lint.LintProfile.ROOT_CA),
        (h.issuing, h.root, lint.LintProfile.ISSUING_CA),
        (h.end_entity, h.issuing, lint.LintProfile.END_ENTITY),
        (h.ocsp_signer, h.issuing, lint.LintProfile.OCSP_SIGNER),
    ]
    for cert, issuer, profile in cases:
        assert _blocking_codes(cert.public_bytes(DER), profile) == [], profile
        cert.verify_directly_issued_by(issuer)
        assert cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.RSA_WITH_SHA256


def test_root_is_self_signed_with_the_signer_key(hierarchy) -> None:
    root = hierarchy.root
    assert root.public_key() == hierarchy.signers.root.public_key()
    hierarchy.signers.root.public_key().verify(
        root.signature, root.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256()
    )


def test_openssl_verifies_both_leaf_certificates(hierarchy, tmp_path: Path, profiles) -> None:
    h = hierarchy
    root = _write(tmp_path / "root.pem", h.root)
    issuing = _write(tmp_path / "issuing.pem", h.issuing)
    at = str(int(profiles.moment.timestamp()))
    for leaf, purpose in ((h.end_entity, "sslclient"), (h.ocsp_signer, "any")):
        leaf_pem = _write(tmp_path / "leaf.pem", leaf)
        result = _openssl(
            "verify", "-x509_strict", "-attime", at, "-purpose", purpose,
            "-CAfile", root, "-untrusted", issuing, leaf_pem,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith(": OK")


def test_openssl_rejects_the_chain_outside_its_validity(hierarchy, tmp_path: Path) -> None:
    """The verification above is real: the same chain fails at a time it does not cover."""
    h = hierarchy
    root = _write(tmp_path / "root.pem", h.root)
    issuing = _write(tmp_path / "issuing.pem", h.issuing)
    leaf = _write(tmp_path / "leaf.pem", h.end_entity)
    before = str(int(h.root.not_valid_before_utc.timestamp()) - 86400)
    result = _openssl(
        "verify", "-attime", before, "-CAfile", root, "-untrusted", issuing, leaf
    )  # fmt: skip
    assert result.returncode != 0
    assert "not yet valid" in result.stdout + result.stderr


# --- CRL ---------------------------------------------------------------------------------


def test_crl_is_lint_clean_and_openssl_uses_it(hierarchy, tmp_path: Path, profiles) -> None:
    h = hierarchy
    crl = signing.sign_crl(profiles.crl(h, h.end_entity.serial_number), h.signers.issuing)
    assert [f.code for f in lint.blocking(lint.lint_crl(crl.public_bytes(DER)))] == []
    assert crl.is_signature_valid(h.issuing.public_key())
    assert crl.get_revoked_certificate_by_serial_number(h.end_entity.serial_number)

    crl_pem = tmp_path / "crl.pem"
    crl_pem.write_bytes(crl.public_bytes(PEM))
    chain = _write(tmp_path / "chain.pem", h.root, h.issuing)
    checked = _openssl("crl", "-in", crl_pem, "-CAfile", chain, "-noout")
    assert checked.returncode == 0, checked.stderr
    assert "verify OK" in checked.stdout + checked.stderr

    leaf = _write(tmp_path / "leaf.pem", h.end_entity)
    at = str(int(profiles.moment.timestamp()))
    revoked = _openssl(
        "verify", "-crl_check", "-attime", at, "-CAfile", chain, "-CRLfile", crl_pem, leaf
    )  # fmt: skip
    assert revoked.returncode != 0
    assert "certificate revoked" in revoked.stdout + revoked.stderr


def test_crl_without_authority_key_identifier_is_refused(file_signers, profiles) -> None:
    issuing_key = file_signers.issuing.public_key()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(profiles.issuing_name)
        .last_update(profiles.moment)
        .next_update(profiles.moment + dt.timedelta(days=7))
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    counting = CountingSigner(file_signers.issuing)
    with pytest.raises(EhcertError) as caught:
        signing.sign_crl(builder, counting)
    assert caught.value.kind is ErrorKind.INTERNAL
    assert "pkix.authority_key_identifier_missing" in caught.value.detail
    assert counting.calls == 0

    signed = signing.sign_crl(
        builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuing_key), critical=False
        ),
        counting,
    )
    assert counting.calls == 1
    assert signed.is_signature_valid(issuing_key)


# --- OCSP --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", list(ocsp.OCSPResponderEncoding))
def test_ocsp_response_by_delegated_responder(
    hierarchy, tmp_path: Path, profiles, encoding: ocsp.OCSPResponderEncoding
) -> None:
    h = hierarchy
    response = signing.sign_ocsp_response(profiles.ocsp(h, encoding), h.signers.ocsp)
    der = response.public_bytes(DER)
    assert [f.code for f in lint.blocking(lint.lint_ocsp_response(der))] == []
    assert response.certificates == [h.ocsp_signer]
    if encoding is ocsp.OCSPResponderEncoding.HASH:
        expected = x509.SubjectKeyIdentifier.from_public_key(h.ocsp_signer.public_key()).digest
        assert response.responder_key_hash == expected
    else:
        assert response.responder_name == h.ocsp_signer.subject
    assert response.serial_number == h.end_entity.serial_number
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD

    (tmp_path / "resp.der").write_bytes(der)
    chain = _write(tmp_path / "chain.pem", h.root, h.issuing)
    issuer = _write(tmp_path / "issuer.pem", h.issuing)
    leaf = _write(tmp_path / "leaf.pem", h.end_entity)
    at = str(int(profiles.moment.timestamp()))
    checked = _openssl(
        "ocsp", "-respin", tmp_path / "resp.der", "-CAfile", chain, "-issuer", issuer,
        "-cert", leaf, "-attime", at, "-no_nonce",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "Response verify OK" in checked.stderr + checked.stdout
    # openssl checks thisUpdate/nextUpdate against the wall clock (-attime does not apply
    # there) and may warn; the status line itself must say good.
    assert re.search(r"(^|: )good$", checked.stdout, re.MULTILINE)


def test_ocsp_signer_must_match_the_responder_certificate(hierarchy, profiles) -> None:
    h = hierarchy
    with pytest.raises(EhcertError) as caught:
        signing.sign_ocsp_response(profiles.ocsp(h), h.signers.issuing)
    assert caught.value.kind is ErrorKind.INTERNAL
    assert "4.2.2.2" in caught.value.detail


def test_ocsp_builder_without_responder_is_a_value_error(hierarchy, profiles) -> None:
    h = hierarchy
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=h.end_entity,
        issuer=h.issuing,
        algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=profiles.moment,
        next_update=None,
        revocation_time=None,
        revocation_reason=None,
    )
    with pytest.raises(ValueError, match="responder_id"):
        signing.sign_ocsp_response(builder, h.signers.ocsp)


def test_ocsp_produced_at_is_the_given_moment_in_utc_whole_seconds(
    hierarchy, tmp_path: Path, profiles
) -> None:
    """producedAt follows the caller's clock, not the real one, and is what gets signed."""
    h = hierarchy
    brussels_summer = dt.timezone(dt.timedelta(hours=2))
    given = (profiles.moment + dt.timedelta(minutes=5, seconds=7, microseconds=654_321)).astimezone(
        brussels_summer
    )
    response = signing.sign_ocsp_response(
        profiles.ocsp(h, ocsp.OCSPResponderEncoding.NAME), h.signers.ocsp, produced_at=given
    )
    expected = dt.datetime(2030, 1, 15, 12, 5, 7, tzinfo=dt.UTC)
    assert response.produced_at_utc == expected
    assert response.this_update_utc == profiles.moment  # the rest of the response is intact
    der = response.public_bytes(DER)
    # GeneralizedTime (tag 0x18), 15 octets: YYYYMMDDHHMMSSZ, no fraction (RFC 5280 4.1.2.5.2).
    assert b"\x18\x0f20300115120507Z" in response.tbs_response_bytes
    assert [f.code for f in lint.blocking(lint.lint_ocsp_response(der))] == []
    h.signers.ocsp.public_key().verify(
        response.signature, response.tbs_response_bytes, padding.PKCS1v15(), hashes.SHA256()
    )

    (tmp_path / "resp.der").write_bytes(der)
    chain = _write(tmp_path / "chain.pem", h.root, h.issuing)
    issuer = _write(tmp_path / "issuer.pem", h.issuing)
    leaf = _write(tmp_path / "leaf.pem", h.end_entity)
    checked = _openssl(
        "ocsp", "-respin", tmp_path / "resp.der", "-CAfile", chain, "-issuer", issuer,
        "-cert", leaf, "-attime", str(int(expected.timestamp())), "-no_nonce", "-resp_text",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "Response verify OK" in checked.stderr + checked.stdout
    assert "Produced At: Jan 15 12:05:07 2030 GMT" in checked.stdout


def test_ocsp_produced_at_must_be_an_aware_datetime(hierarchy, profiles) -> None:
    h = hierarchy
    with pytest.raises(ValueError, match="produced_at must be timezone-aware"):
        signing.sign_ocsp_response(
            profiles.ocsp(h), h.signers.ocsp, produced_at=dt.datetime(2030, 1, 15, 12, 5)
        )
    with pytest.raises(TypeError, match="produced_at"):
        signing.sign_ocsp_response(
            profiles.ocsp(h),
            h.signers.ocsp,
            produced_at="2030-01-15T12:05:00Z",  # type: ignore[arg-type]
        )


# --- refusals ----------------------------------------------------------------------------


def test_end_entity_without_aki_is_refused_before_signing(file_signers, profiles) -> None:
    issuing_key = file_signers.issuing.public_key()
    builder = profiles.end_entity(
        file_signers.end_entity_key.public_key(),
        issuing_key,
        omit=frozenset({x509.AuthorityKeyIdentifier}),
    )
    prepared = builder.sign(file_signers.end_entity_key, hashes.SHA256())
    codes = _blocking_codes(prepared.public_bytes(DER), lint.LintProfile.END_ENTITY)
    assert codes == ["pkix.authority_key_identifier_extension_absent"]

    counting = CountingSigner(file_signers.issuing)
    with pytest.raises(EhcertError) as caught:
        signing.sign_certificate(builder, counting, lint=lint.LintProfile.END_ENTITY)
    assert caught.value.kind is ErrorKind.INTERNAL
    assert "pkix.authority_key_identifier_extension_absent" in caught.value.detail
    assert counting.calls == 0


def test_ca_without_key_cert_sign_is_refused(file_signers, profiles) -> None:
    root_key = file_signers.root.public_key()
    crl_sign_only = x509.KeyUsage(True, False, False, False, False, False, True, False, False)
    builder = profiles.root(root_key, key_usage=crl_sign_only)
    counting = CountingSigner(file_signers.root)
    with pytest.raises(EhcertError) as caught:
        signing.sign_certificate(builder, counting, lint=lint.LintProfile.ROOT_CA)
    assert "pkix.ca_certificate_keycertsign_keyusage_not_set" in caught.value.detail
    assert "ehcert.key_usage_mismatch" in caught.value.detail
    assert counting.calls == 0


def test_root_may_omit_its_authority_key_identifier(file_signers, profiles, tmp_path) -> None:
    """RFC 5280 4.2.1.1: a self-signed root may omit the AKI; pkilint agrees once the root
    really is self-signed, and sign_certificate guarantees that it will be."""
    root_key = file_signers.root.public_key()
    builder = profiles.root(root_key, omit=frozenset({x509.AuthorityKeyIdentifier}))
    root = signing.sign_certificate(builder, file_signers.root, lint=lint.LintProfile.ROOT_CA)
    assert _blocking_codes(root.public_bytes(DER), lint.LintProfile.ROOT_CA) == []
    result = _openssl(
        "verify", "-x509_strict", "-attime", str(int(profiles.moment.timestamp())),
        "-CAfile", _write(tmp_path / "root.pem", root), tmp_path / "root.pem",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    with pytest.raises(EhcertError) as caught:
        signing.sign_certificate(builder, file_signers.issuing, lint=lint.LintProfile.ROOT_CA)
    assert "self-signed" in caught.value.detail


def test_eid_chain_profiles(eid_material) -> None:
    """CA certificates may carry an EKU (the Belgian Citizen CAs do); the test eID
    certificate has its own profile, which an eHealth certificate profile would refuse."""
    m = eid_material
    assert _blocking_codes(m.root.public_bytes(DER), lint.LintProfile.ROOT_CA) == []
    assert _blocking_codes(m.citizen_ca.public_bytes(DER), lint.LintProfile.ISSUING_CA) == []
    eid = m.certificate.public_bytes(DER)
    assert _blocking_codes(eid, lint.LintProfile.EID_AUTHENTICATION) == []
    assert "ehcert.key_usage_mismatch" in _blocking_codes(eid, lint.LintProfile.END_ENTITY)


def test_root_whose_aki_is_not_its_own_ski_is_refused(file_signers, profiles) -> None:
    root_key = file_signers.root.public_key()
    builder = profiles.root(root_key, omit=frozenset({x509.AuthorityKeyIdentifier}))
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(file_signers.issuing.public_key()),
        critical=False,
    )
    with pytest.raises(EhcertError) as caught:
        signing.sign_certificate(builder, file_signers.root, lint=lint.LintProfile.ROOT_CA)
    assert "ehcert.root_authority_key_id_not_subject_key_id" in caught.value.detail


def test_end_entity_profile_rules(file_signers, profiles) -> None:
    """An OCSP signer certificate is not an eHealth authentication certificate."""
    issuing_key = file_signers.issuing.public_key()
    builder = profiles.ocsp_signer(file_signers.end_entity_key.public_key(), issuing_key)
    der = builder.sign(file_signers.end_entity_key, hashes.SHA256()).public_bytes(DER)
    codes = set(_blocking_codes(der, lint.LintProfile.END_ENTITY))
    assert codes == {
        "ehcert.key_usage_mismatch",
        "ehcert.extended_key_usage_mismatch",
        "ehcert.crl_distribution_point_missing",
        "ehcert.authority_information_access_incomplete",
        "ehcert.certificate_policies_missing",
    }
    assert _blocking_codes(der, lint.LintProfile.OCSP_SIGNER) == []


def test_ocsp_signer_needs_nocheck(file_signers, profiles) -> None:
    issuing_key = file_signers.issuing.public_key()
    builder = profiles.ocsp_signer(
        file_signers.ocsp.public_key(), issuing_key, omit=frozenset({x509.OCSPNoCheck})
    )
    der = builder.sign(file_signers.end_entity_key, hashes.SHA256()).public_bytes(DER)
    assert _blocking_codes(der, lint.LintProfile.OCSP_SIGNER) == ["ehcert.ocsp_nocheck_missing"]


def test_signer_whose_key_does_not_match_is_caught(file_signers, profiles) -> None:
    root_key = file_signers.root.public_key()
    wrong = MismatchedSigner(file_signers.root, file_signers.issuing)
    with pytest.raises(EhcertError) as caught:
        signing.sign_certificate(profiles.root(root_key), wrong, lint=lint.LintProfile.ROOT_CA)
    assert caught.value.kind is ErrorKind.INTERNAL
    assert "does not verify" in caught.value.detail


def test_wrong_argument_types(file_signers, profiles) -> None:
    with pytest.raises(TypeError):
        signing.sign_certificate(object(), file_signers.root, lint=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        signing.sign_crl(object(), file_signers.root)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        lint.lint_certificate(b"\x30\x00", "end-entity")  # type: ignore[arg-type]
    with pytest.raises(EhcertError):
        lint.lint_certificate(b"not der", lint.LintProfile.END_ENTITY)


def test_ocsp_revoked_with_nonce_and_unknown_by_hash(hierarchy, profiles) -> None:
    """Extensions survive the responder rewrite; responses by hash sign the same way."""
    h = hierarchy
    nonce = x509.OCSPNonce(b"\x01" * 16)
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=h.end_entity,
            issuer=h.issuing,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.REVOKED,
            this_update=profiles.moment,
            next_update=profiles.moment + dt.timedelta(hours=12),
            revocation_time=profiles.moment - dt.timedelta(hours=1),
            revocation_reason=x509.ReasonFlags.key_compromise,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, h.ocsp_signer)
        .certificates([h.ocsp_signer])
        .add_extension(nonce, critical=False)
    )
    revoked = signing.sign_ocsp_response(builder, h.signers.ocsp)
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_reason is x509.ReasonFlags.key_compromise
    assert revoked.extensions.get_extension_for_class(x509.OCSPNonce).value == nonce
    assert revoked.certificates == [h.ocsp_signer]

    unknown = signing.sign_ocsp_response(
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=b"\x02" * 20,
            issuer_key_hash=b"\x03" * 20,
            serial_number=12345,
            algorithm=hashes.SHA1(),
            cert_status=ocsp.OCSPCertStatus.UNKNOWN,
            this_update=profiles.moment,
            next_update=profiles.moment + dt.timedelta(hours=12),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.NAME, h.ocsp_signer),
        h.signers.ocsp,
    )
    assert unknown.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    assert unknown.serial_number == 12345
    h.signers.ocsp.public_key().verify(
        unknown.signature, unknown.tbs_response_bytes, padding.PKCS1v15(), hashes.SHA256()
    )


def test_crl_entry_with_unspecified_reason_is_refused(hierarchy, profiles) -> None:
    """RFC 5280 5.3.1: use no reasonCode rather than 'unspecified' (pkilint WARNING)."""
    h = hierarchy
    entry = (
        x509.RevokedCertificateBuilder()
        .serial_number(99)
        .revocation_date(profiles.moment)
        .add_extension(x509.CRLReason(x509.ReasonFlags.unspecified), critical=False)
        .build()
    )
    builder = profiles.crl(h, 98).add_revoked_certificate(entry)
    with pytest.raises(EhcertError) as caught:
        signing.sign_crl(builder, h.signers.issuing)
    assert "pkix.crl_unspecified_crl_entry_reason_code" in caught.value.detail
