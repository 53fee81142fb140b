"""Path validation: good paths, each way a path can fail, CRLs, and real eID/eHealth chains."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import profiles
from ehcert.pki.pathval import KeyPurpose, validate_path
from ehcert.pki.revocation import RevocationState, RevocationStatus, crl_revocation_checker

ETEE = Path(__file__).resolve().parents[1] / "fixtures" / "etee"


def _cn(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def _leaf_builder(issuer: x509.Certificate, public_key, moment, common_name="Leaf"):
    return profiles.ehealth_authentication_builder(
        _cn(common_name),
        public_key,
        issuer,
        serial=profiles.random_serial(),
        not_before=moment - dt.timedelta(days=1),
        not_after=moment + dt.timedelta(days=30),
        crl_url="http://crl.example.test/x.crl",
        ocsp_url="http://ocsp.example.test",
        ca_issuers_url="http://certs.example.test/x.crt",
        policy_oid="1.3.6.1.4.1.32473.1.1",
    )


def _crl(issuer, key, moment, revoked=(), *, next_update_days=7):
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(moment - dt.timedelta(hours=1))
        .next_update(moment + dt.timedelta(days=next_update_days))
    )
    for serial, when, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(key, hashes.SHA256())


def _refusal(kind: ErrorKind, call) -> str:
    with pytest.raises(EhcertError) as caught:
        call()
    assert caught.value.kind is kind, caught.value.detail
    return caught.value.detail


# -- good paths -------------------------------------------------------------------------


def test_good_ehealth_chain(ehealth_pki, eid_pki, moment):
    path = validate_path(
        ehealth_pki.auth,
        [eid_pki.citizen_ca, ehealth_pki.issuing, eid_pki.root],  # order and noise don't matter
        [eid_pki.root, ehealth_pki.root],
        at=moment,
        purpose=KeyPurpose.CLIENT_AUTHENTICATION,
        revocation=None,
    )
    assert path.certificates == (ehealth_pki.auth, ehealth_pki.issuing, ehealth_pki.root)
    assert path.leaf == ehealth_pki.auth
    assert path.anchor == ehealth_pki.root
    assert path.revocation == ()


def test_good_eid_chain_for_client_authentication(eid_pki, moment):
    path = validate_path(
        eid_pki.auth,
        [eid_pki.citizen_ca],
        [eid_pki.root],
        at=moment,
        purpose=KeyPurpose.CLIENT_AUTHENTICATION,
        revocation=None,
    )
    assert path.anchor == eid_pki.root


def test_ocsp_signer_is_fit_for_ocsp_signing(ehealth_pki, moment):
    validate_path(
        ehealth_pki.ocsp_signer,
        [ehealth_pki.issuing],
        [ehealth_pki.root],
        at=moment,
        purpose=KeyPurpose.OCSP_SIGNING,
        revocation=None,
    )


def test_anchor_recognised_by_subject_and_key_when_reissued(keys, ehealth_pki, moment):
    reissued_root = profiles.root_ca_builder(
        ehealth_pki.root.subject,
        keys.root.public_key(),
        serial=profiles.random_serial(),
        not_before=moment - dt.timedelta(days=10),
        not_after=moment + dt.timedelta(days=100),
    ).sign(keys.root, hashes.SHA256())
    path = validate_path(
        ehealth_pki.auth,
        [ehealth_pki.issuing, ehealth_pki.root],
        [reissued_root],
        at=moment,
        purpose=None,
        revocation=None,
    )
    assert path.anchor == reissued_root
    assert len(path.certificates) == 3


def test_pss_and_ecdsa_signatures_verify(keys, ehealth_pki, moment):
    ec_ca = profiles.issuing_ca_builder(
        _cn("EC Issuing CA"),
        keys.ec_p256.public_key(),
        ehealth_pki.root,
        serial=profiles.random_serial(),
        not_before=moment - dt.timedelta(days=1),
        not_after=moment + dt.timedelta(days=30),
        crl_url="http://crl.example.test/root.crl",
        ca_issuers_url="http://certs.example.test/r",
    ).sign(
        keys.root,
        hashes.SHA256(),
        rsa_padding=padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH),
    )
    leaf = _leaf_builder(ec_ca, keys.other.public_key(), moment).sign(keys.ec_p256, hashes.SHA384())
    path = validate_path(
        leaf, [ec_ca], [ehealth_pki.root], at=moment, purpose=None, revocation=None
    )
    assert path.certificates[1] == ec_ca
    assert isinstance(ec_ca.signature_algorithm_parameters, padding.PSS)
    assert isinstance(leaf.signature_algorithm_parameters, ec.ECDSA)


# -- time -------------------------------------------------------------------------------


def test_expired_leaf(eid_pki):
    at = eid_pki.auth.not_valid_after_utc + dt.timedelta(seconds=1)
    detail = _refusal(
        ErrorKind.CERTIFICATE_EXPIRED,
        lambda: validate_path(
            eid_pki.auth,
            [eid_pki.citizen_ca],
            [eid_pki.root],
            at=at,
            purpose=None,
            revocation=None,
            leaf_label="eID certificate",
        ),
    )
    expiry = eid_pki.auth.not_valid_after_utc.date().isoformat()
    assert detail == (
        "The eID certificate of serialNumber=76120902527,GN=Frederik Eugeen,SN=Libert,"
        f"CN=Frederik Libert (Authentication),C=BE expired on {expiry}."
    )


def test_not_yet_valid_leaf(ehealth_pki):
    at = ehealth_pki.auth.not_valid_before_utc - dt.timedelta(seconds=1)
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            ehealth_pki.auth,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=at,
            purpose=None,
            revocation=None,
        ),
    )
    assert "is not valid before" in detail
    assert "CN=SSIN=76120902527" in detail


def test_expired_intermediate_is_named(keys, ehealth_pki, moment):
    short_ca = profiles.issuing_ca_builder(
        _cn("Short-lived CA"),
        keys.issuing.public_key(),
        ehealth_pki.root,
        serial=profiles.random_serial(),
        not_before=moment - dt.timedelta(days=10),
        not_after=moment - dt.timedelta(days=1),
        crl_url="http://crl.example.test/root.crl",
        ca_issuers_url="http://certs.example.test/r",
    ).sign(keys.root, hashes.SHA256())
    leaf = _leaf_builder(short_ca, keys.other.public_key(), moment).sign(
        keys.issuing, hashes.SHA256()
    )
    detail = _refusal(
        ErrorKind.CERTIFICATE_EXPIRED,
        lambda: validate_path(
            leaf, [short_ca], [ehealth_pki.root], at=moment, purpose=None, revocation=None
        ),
    )
    assert detail.startswith("The CA certificate of CN=Short-lived CA expired on")


def test_naive_time_is_refused(ehealth_pki):
    with pytest.raises(ValueError, match="timezone-aware"):
        validate_path(
            ehealth_pki.auth,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=dt.datetime(2030, 1, 1),
            purpose=None,
            revocation=None,
        )


# -- trust ------------------------------------------------------------------------------


def test_wrong_anchor(ehealth_pki, eid_pki, moment):
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            ehealth_pki.auth,
            [ehealth_pki.issuing],
            [eid_pki.root],
            at=moment,
            purpose=None,
            revocation=None,
        ),
    )
    assert "does not chain to a trusted anchor" in detail
    assert "the path ends at the CA certificate of CN=Test eHealth Issuing CA" in detail


def test_missing_intermediate(ehealth_pki, moment):
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            ehealth_pki.auth, [], [ehealth_pki.root], at=moment, purpose=None, revocation=None
        ),
    )
    assert "its issuer CN=Test eHealth Issuing CA,O=Example eHealth Test,C=BE" in detail


def test_bad_signature_when_issuer_key_swapped(keys, ehealth_pki, moment):
    forged_ca = profiles.issuing_ca_builder(
        ehealth_pki.issuing.subject,
        keys.issuing.public_key(),
        ehealth_pki.root,
        serial=profiles.random_serial(),
        not_before=moment - dt.timedelta(days=1),
        not_after=moment + dt.timedelta(days=30),
        crl_url="http://crl.example.test/root.crl",
        ca_issuers_url="http://certs.example.test/r",
    ).sign(keys.other, hashes.SHA256())  # not the root's key
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            ehealth_pki.auth,
            [forged_ca],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=None,
        ),
    )
    assert detail == (
        "The signature on the CA certificate of CN=Test eHealth Issuing CA,"
        "O=Example eHealth Test,C=BE does not verify with the key of its issuer "
        "CN=Test eHealth Root CA,O=Example eHealth Test,C=BE."
    )


def test_genuine_path_wins_over_a_forged_duplicate(keys, ehealth_pki, moment):
    forged_ca = profiles.issuing_ca_builder(
        ehealth_pki.issuing.subject,
        keys.issuing.public_key(),
        ehealth_pki.root,
        serial=profiles.random_serial(),
        not_before=moment - dt.timedelta(days=1),
        not_after=moment + dt.timedelta(days=30),
        crl_url="http://crl.example.test/root.crl",
        ca_issuers_url="http://certs.example.test/r",
    ).sign(keys.other, hashes.SHA256())
    path = validate_path(
        ehealth_pki.auth,
        [forged_ca, ehealth_pki.issuing],
        [ehealth_pki.root],
        at=moment,
        purpose=None,
        revocation=None,
    )
    assert path.certificates[1] == ehealth_pki.issuing


def test_non_ca_intermediate(ehealth_pki, moment):
    # The encryption certificate is issued by the authentication certificate, an end entity.
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            ehealth_pki.encryption,
            [ehealth_pki.auth, ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=None,
        ),
    )
    assert detail.endswith(
        "issued another certificate but is not a CA (basicConstraints cA is not TRUE)."
    )
    assert "CN=SSIN=76120902527" in detail


def test_path_length_constraint(keys, ehealth_pki, moment):
    sub_ca = (
        x509.CertificateBuilder()
        .subject_name(_cn("Sub CA"))
        .issuer_name(ehealth_pki.issuing.subject)
        .public_key(keys.other.public_key())
        .serial_number(profiles.random_serial())
        .not_valid_before(moment - dt.timedelta(days=1))
        .not_valid_after(moment + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(keys.issuing, hashes.SHA256())
    )
    leaf = _leaf_builder(sub_ca, keys.encryption.public_key(), moment).sign(
        keys.other, hashes.SHA256()
    )
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            leaf,
            [sub_ca, ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=None,
        ),
    )
    assert detail == (
        "The CA certificate of CN=Test eHealth Issuing CA,O=Example eHealth Test,C=BE allows "
        "at most 0 intermediate CA certificates below it, but the path has more."
    )


def test_issuer_without_certificate_signing_usage(keys, ehealth_pki, moment):
    ca = (
        x509.CertificateBuilder()
        .subject_name(_cn("CRL-only CA"))
        .issuer_name(ehealth_pki.root.subject)
        .public_key(keys.other.public_key())
        .serial_number(profiles.random_serial())
        .not_valid_before(moment - dt.timedelta(days=1))
        .not_valid_after(moment + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, False, True, False, False),
            critical=True,
        )
        .sign(keys.root, hashes.SHA256())
    )
    leaf = _leaf_builder(ca, keys.encryption.public_key(), moment).sign(keys.other, hashes.SHA256())
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            leaf, [ca], [ehealth_pki.root], at=moment, purpose=None, revocation=None
        ),
    )
    assert "key usage does not allow certificate signing" in detail


def test_unprocessed_critical_extension(keys, ehealth_pki, moment):
    leaf = (
        _leaf_builder(ehealth_pki.issuing, keys.other.public_key(), moment)
        .add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.32473.9"), b"\x05\x00"),
            critical=True,
        )
        .sign(keys.issuing, hashes.SHA256())
    )
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            leaf,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=None,
        ),
    )
    assert "critical extension 1.3.6.1.4.1.32473.9" in detail


def _resigned(
    certificate: x509.Certificate, key: rsa.RSAPrivateKey, algorithm: str, *, outer: str
) -> x509.Certificate:
    """Re-sign ``certificate`` by hand (cryptography refuses to make SHA-1 signatures).

    ``algorithm`` goes into the signed TBS, ``outer`` into the unsigned outer field.
    """
    parsed = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"].copy()
    tbs["signature"] = {"algorithm": algorithm}
    hash_algorithm = hashes.SHA1() if algorithm.startswith("sha1") else hashes.SHA256()
    signature = key.sign(tbs.dump(force=True), padding.PKCS1v15(), hash_algorithm)
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": outer},
            "signature_value": signature,
        }
    )
    return x509.load_der_x509_certificate(rebuilt.dump())


def test_sha1_signature_refused_unless_allowed(keys, ehealth_pki, moment):
    leaf = _resigned(
        _leaf_builder(ehealth_pki.issuing, keys.other.public_key(), moment).sign(
            keys.issuing, hashes.SHA256()
        ),
        keys.issuing,
        "sha1_rsa",
        outer="sha1_rsa",
    )
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            leaf,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=None,
        ),
    )
    assert "is signed with SHA1, which is not accepted" in detail
    validate_path(
        leaf,
        [ehealth_pki.issuing],
        [ehealth_pki.root],
        at=moment,
        purpose=None,
        revocation=None,
        allow_sha1_signatures=True,
    )


def test_inner_and_outer_signature_algorithms_must_agree(keys, ehealth_pki, moment):
    leaf = _resigned(
        _leaf_builder(ehealth_pki.issuing, keys.other.public_key(), moment).sign(
            keys.issuing, hashes.SHA256()
        ),
        keys.issuing,
        "sha256_rsa",
        outer="sha512_rsa",
    )
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            leaf,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=None,
        ),
    )
    assert "names different (or unreadable) signature algorithms inside and outside" in detail


def test_unreadable_leaf_is_refused(keys, ehealth_pki, moment):
    leaf = _leaf_builder(ehealth_pki.issuing, keys.other.public_key(), moment).sign(
        keys.issuing, hashes.SHA256()
    )
    parsed = asn1_x509.Certificate.load(leaf.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"].copy()
    extensions = list(tbs["extensions"])
    tbs["extensions"] = [*extensions, extensions[-1]]  # the same extension twice
    signature = keys.issuing.sign(tbs.dump(force=True), padding.PKCS1v15(), hashes.SHA256())
    duplicated = x509.load_der_x509_certificate(
        asn1_x509.Certificate(
            {
                "tbs_certificate": tbs,
                "signature_algorithm": parsed["signature_algorithm"],
                "signature_value": signature,
            }
        ).dump()
    )
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            duplicated,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=None,
            leaf_label="eHealth certificate",
        ),
    )
    assert detail == "The eHealth certificate cannot be read: its extensions are malformed."


# -- purpose ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "fragment"),
    [
        (KeyPurpose.NON_REPUDIATION, "key usage of the certificate of"),
        (KeyPurpose.KEY_ENCIPHERMENT, "does not allow encryption (key transport)"),
        (KeyPurpose.OCSP_SIGNING, "extended key usage of the certificate of"),
    ],
)
def test_eid_leaf_is_not_fit_for_other_purposes(eid_pki, moment, purpose, fragment):
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            eid_pki.auth,
            [eid_pki.citizen_ca],
            [eid_pki.root],
            at=moment,
            purpose=purpose,
            revocation=None,
        ),
    )
    assert fragment in detail


def test_ehealth_auth_is_fit_for_its_purposes(ehealth_pki, moment):
    for purpose in (
        KeyPurpose.CLIENT_AUTHENTICATION,
        KeyPurpose.MESSAGE_SIGNATURE,
        KeyPurpose.NON_REPUDIATION,
        KeyPurpose.KEY_ENCIPHERMENT,
    ):
        validate_path(
            ehealth_pki.auth,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=purpose,
            revocation=None,
        )


# -- revocation -------------------------------------------------------------------------


def test_revoked_via_crl(keys, ehealth_pki, moment):
    revoked_on = moment - dt.timedelta(days=3)
    crls = [
        _crl(ehealth_pki.root, keys.root, moment),
        _crl(
            ehealth_pki.issuing,
            keys.issuing,
            moment,
            [
                (ehealth_pki.auth.serial_number, revoked_on, x509.ReasonFlags.key_compromise),
            ],
        ),
    ]
    detail = _refusal(
        ErrorKind.REVOKED,
        lambda: validate_path(
            ehealth_pki.auth,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=crl_revocation_checker(crls, at=moment),
        ),
    )
    assert detail == (
        "The certificate of CN=SSIN=76120902527,O=Federal Government,C=BE was revoked on "
        f"{revoked_on.date().isoformat()} (keyCompromise)."
    )


def test_good_via_crl_and_checker_called_top_down(keys, ehealth_pki, moment):
    checker = crl_revocation_checker(
        [
            _crl(ehealth_pki.root, keys.root, moment),
            _crl(ehealth_pki.issuing, keys.issuing, moment, [(12345, moment, None)]),
        ],
        at=moment,
    )
    calls: list[tuple[x509.Certificate, x509.Certificate]] = []

    def recording_checker(cert: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
        calls.append((cert, issuer))
        return checker(cert, issuer)

    path = validate_path(
        ehealth_pki.auth,
        [ehealth_pki.issuing],
        [ehealth_pki.root],
        at=moment,
        purpose=None,
        revocation=recording_checker,
    )
    assert calls == [
        (ehealth_pki.issuing, ehealth_pki.root),
        (ehealth_pki.auth, ehealth_pki.issuing),
    ]
    assert [s.state for s in path.revocation] == [RevocationState.GOOD, RevocationState.GOOD]


def test_revoked_intermediate(keys, ehealth_pki, moment):
    crls = [
        _crl(
            ehealth_pki.root,
            keys.root,
            moment,
            [(ehealth_pki.issuing.serial_number, moment - dt.timedelta(days=1), None)],
        ),
        _crl(ehealth_pki.issuing, keys.issuing, moment),
    ]
    detail = _refusal(
        ErrorKind.REVOKED,
        lambda: validate_path(
            ehealth_pki.auth,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=crl_revocation_checker(crls, at=moment),
        ),
    )
    assert detail.startswith("The CA certificate of CN=Test eHealth Issuing CA")


@pytest.mark.parametrize("defect", ["wrong signer", "stale", "missing"])
def test_unusable_crl_leaves_status_unknown(keys, ehealth_pki, moment, defect):
    root_crl = _crl(ehealth_pki.root, keys.root, moment)
    issuing_crl = {
        "wrong signer": _crl(ehealth_pki.issuing, keys.other, moment),
        "stale": _crl(ehealth_pki.issuing, keys.issuing, moment - dt.timedelta(days=30)),
        "missing": None,
    }[defect]
    crls = [c for c in (root_crl, issuing_crl) if c is not None]
    detail = _refusal(
        ErrorKind.UNTRUSTED,
        lambda: validate_path(
            ehealth_pki.auth,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=moment,
            purpose=None,
            revocation=crl_revocation_checker(crls, at=moment),
        ),
    )
    assert detail == (
        "The revocation status of the certificate of CN=SSIN=76120902527,"
        "O=Federal Government,C=BE cannot be determined: no current CRL signed by "
        "CN=Test eHealth Issuing CA,O=Example eHealth Test,C=BE is available."
    )


@pytest.mark.parametrize(
    "scope",
    [
        x509.IssuingDistributionPoint(  # a partition for other certificates
            full_name=[x509.UniformResourceIdentifier("http://crl.example.test/part-2.crl")],
            relative_name=None,
            only_contains_user_certs=False,
            only_contains_ca_certs=False,
            only_some_reasons=None,
            indirect_crl=False,
            only_contains_attribute_certs=False,
        ),
        x509.IssuingDistributionPoint(  # CA certificates only
            full_name=None,
            relative_name=None,
            only_contains_user_certs=False,
            only_contains_ca_certs=True,
            only_some_reasons=None,
            indirect_crl=False,
            only_contains_attribute_certs=False,
        ),
    ],
)
def test_crl_whose_scope_excludes_the_certificate_is_not_used(keys, ehealth_pki, moment, scope):
    scoped = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ehealth_pki.issuing.subject)
        .last_update(moment - dt.timedelta(hours=1))
        .next_update(moment + dt.timedelta(days=1))
        .add_extension(scope, critical=True)
        .sign(keys.issuing, hashes.SHA256())
    )
    checker = crl_revocation_checker([scoped], at=moment)
    assert checker(ehealth_pki.auth, ehealth_pki.issuing).state is RevocationState.UNKNOWN


def test_crl_whose_scope_names_the_certificates_distribution_point_is_used(
    keys, ehealth_pki, moment
):
    scope = x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier("http://crl.example.test/issuing.crl")],
        relative_name=None,
        only_contains_user_certs=True,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=False,
        only_contains_attribute_certs=False,
    )
    scoped = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ehealth_pki.issuing.subject)
        .last_update(moment - dt.timedelta(hours=1))
        .next_update(moment + dt.timedelta(days=1))
        .add_extension(scope, critical=True)
        .sign(keys.issuing, hashes.SHA256())
    )
    checker = crl_revocation_checker([scoped], at=moment)
    assert checker(ehealth_pki.auth, ehealth_pki.issuing).state is RevocationState.GOOD


def test_revocation_not_consulted_for_a_broken_path(ehealth_pki, moment):
    consulted: list[x509.Certificate] = []

    def checker(cert: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
        consulted.append(cert)
        return RevocationStatus.good()

    later = ehealth_pki.auth.not_valid_after_utc + dt.timedelta(days=1)
    _refusal(
        ErrorKind.CERTIFICATE_EXPIRED,
        lambda: validate_path(
            ehealth_pki.auth,
            [ehealth_pki.issuing],
            [ehealth_pki.root],
            at=later,
            purpose=None,
            revocation=checker,
        ),
    )
    assert consulted == []


def test_revocation_status_value_rules():
    with pytest.raises(TypeError):
        RevocationStatus(RevocationState.REVOKED)
    with pytest.raises(ValueError, match="timezone-aware"):
        RevocationStatus.revoked(None, dt.datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="only a REVOKED status"):
        RevocationStatus(RevocationState.GOOD, reason=x509.ReasonFlags.superseded)


# -- real chains from other implementations ---------------------------------------------


def _certificates_of(signed_data_file: Path) -> list[x509.Certificate]:
    content = cms.ContentInfo.load(signed_data_file.read_bytes())["content"]
    return [x509.load_der_x509_certificate(c.chosen.dump()) for c in content["certificates"]]


def test_real_belgian_eid_chain():
    certificates = _certificates_of(ETEE / "msg" / "SEALED_WITH_EID_OCSP_NONE.msg")
    by_cn = {
        c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value: c for c in certificates
    }
    leaf = by_cn["Frederik Libert (Authentication)"]
    citizen_ca, root = by_cn["Citizen CA"], by_cn["Belgium Root CA4"]
    at = dt.datetime(2020, 6, 1, tzinfo=dt.UTC)
    path = validate_path(
        leaf,
        [citizen_ca],
        [root],
        at=at,
        purpose=KeyPurpose.CLIENT_AUTHENTICATION,
        revocation=None,
        leaf_label="eID certificate",
    )
    assert path.certificates == (leaf, citizen_ca, root)
    detail = _refusal(
        ErrorKind.CERTIFICATE_EXPIRED,
        lambda: validate_path(
            leaf,
            [citizen_ca],
            [root],
            at=dt.datetime(2028, 3, 1, tzinfo=dt.UTC),
            purpose=None,
            revocation=None,
            leaf_label="eID certificate",
        ),
    )
    assert detail == (
        "The eID certificate of serialNumber=76120902527,GN=Frederik Eugeen,SN=Libert,"
        "CN=Frederik Libert (Authentication),C=BE expired on 2028-02-27."
    )


def test_real_zetes_ehealth_issuing_ca():
    imports = ETEE / "imports"
    root = x509.load_pem_x509_certificate(
        (imports / "ZetesConfidens Private Trust PKI - root CA 001.cer").read_bytes()
    )
    issuing = x509.load_der_x509_certificate(
        base64.b64decode(
            (imports / "ZetesConfidens Private Trust PKI - eHealth issuing CA 001.crt").read_bytes()
        )
    )
    path = validate_path(
        issuing,
        [],
        [root],
        at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        purpose=None,
        revocation=None,
    )
    assert path.anchor == root


def test_a_remembered_ca_signature_does_not_remember_time_or_revocation(keys, ehealth_pki, moment):
    """CA signatures that verified are remembered (``pathval._checked_ca_signature``);
    the same intermediate is still refused once it expired or is revoked."""
    chain = ([ehealth_pki.issuing], [ehealth_pki.root])
    validate_path(ehealth_pki.auth, *chain, at=moment, purpose=None, revocation=None)
    later = ehealth_pki.issuing.not_valid_after_utc + dt.timedelta(days=1)
    _refusal(
        ErrorKind.CERTIFICATE_EXPIRED,
        lambda: validate_path(ehealth_pki.auth, *chain, at=later, purpose=None, revocation=None),
    )
    revoked = crl_revocation_checker(
        [
            _crl(
                ehealth_pki.root,
                keys.root,
                moment,
                [(ehealth_pki.issuing.serial_number, moment - dt.timedelta(days=1), None)],
            ),
            _crl(ehealth_pki.issuing, keys.issuing, moment),
        ],
        at=moment,
    )
    _refusal(
        ErrorKind.REVOKED,
        lambda: validate_path(
            ehealth_pki.auth, *chain, at=moment, purpose=None, revocation=revoked
        ),
    )


def test_a_ca_signature_that_failed_is_checked_again(keys, ehealth_pki, moment):
    """Only a verified signature is remembered: a forged CA certificate fails every time."""
    forged = profiles.issuing_ca_builder(
        ehealth_pki.issuing.subject,
        keys.issuing.public_key(),
        ehealth_pki.root,
        serial=profiles.random_serial(),
        not_before=moment - dt.timedelta(days=10),
        not_after=moment + dt.timedelta(days=10),
        crl_url="http://crl.example.test/root.crl",
        ca_issuers_url="http://certs.example.test/r",
    ).sign(keys.other, hashes.SHA256())
    for _ in range(2):
        _refusal(
            ErrorKind.UNTRUSTED,
            lambda: validate_path(
                ehealth_pki.auth,
                [forged],
                [ehealth_pki.root],
                at=moment,
                purpose=None,
                revocation=None,
            ),
        )
