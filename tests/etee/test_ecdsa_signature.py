"""ECDSA in the one CMS signature check (RFC 5753 section 2.1.1, RFC 5758 section 3.2):
the signature algorithm's hash is the digest algorithm, the value is a DER
ECDSA-Sig-Value, and the algorithm must fit the signer's key type."""

from __future__ import annotations

import hashlib

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ehcert.pki.cms_signature import NOT_ALLOWED, SIGNATURE_INVALID, verify_signer_info

CONTENT = b"signed by an EC key"
_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384}


def _signer_info(
    key, digest: str, algorithm: str, *, raw_signature: bool = False
) -> cms.SignerInfo:
    """A SignerInfo over CONTENT with contentType and messageDigest, signed by ``key``
    (ECDSA over ``digest``, or RSA PKCS#1 v1.5 for an RSA key), naming ``algorithm``."""
    attributes = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute(
                {"type": "message_digest", "values": [hashlib.new(digest, CONTENT).digest()]}
            ),
        ]
    )
    signed = attributes.dump()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(signed, ec.ECDSA(_HASHES[digest]()))
        if raw_signature:  # r || s as JWS writes it (RFC 7518 3.4): not CMS's encoding
            r, s = decode_dss_signature(signature)
            size = (key.curve.key_size + 7) // 8
            signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        signature = key.sign(signed, padding.PKCS1v15(), _HASHES[digest]())
    return cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(name="subject_key_identifier", value=b"\x01" * 20),
            "digest_algorithm": {"algorithm": digest},
            "signed_attrs": attributes,
            "signature_algorithm": {"algorithm": algorithm},
            "signature": signature,
        }
    )


def _check(signer_info, certificate, **options):
    return verify_signer_info(
        signer_info, "1.2.840.113549.1.7.1", CONTENT, certificate, "test signature", **options
    )


@pytest.mark.parametrize(
    ("who", "digest", "algorithm"),
    [
        ("dave", "sha384", "sha384_ecdsa"),
        ("erin", "sha256", "sha256_ecdsa"),
        ("dave", "sha256", "sha256_ecdsa"),
        ("erin", "sha384", "ecdsa"),  # the bare ecdsa OID: the hash is the digest's
    ],
)
def test_ecdsa_signatures_verify(ec_pki, who, digest, algorithm) -> None:
    entry = getattr(ec_pki, who).authentication
    check = _check(_signer_info(entry.private_key, digest, algorithm), entry.certificate)
    assert check.signature_valid and not check.issues, check.issues


def test_ecdsa_hash_must_be_the_digest_algorithm(ec_pki) -> None:
    entry = ec_pki.dave.authentication
    check = _check(_signer_info(entry.private_key, "sha384", "sha256_ecdsa"), entry.certificate)
    assert not check.signature_valid
    assert (
        NOT_ALLOWED,
        "the signature algorithm sha256_ecdsa does not match the digest sha384",
    ) in (check.issues)


def test_raw_r_s_signature_is_invalid_in_cms(ec_pki) -> None:
    entry = ec_pki.dave.authentication
    signer_info = _signer_info(entry.private_key, "sha384", "sha384_ecdsa", raw_signature=True)
    check = _check(signer_info, entry.certificate)
    assert not check.signature_valid and [code for code, _ in check.issues] == [SIGNATURE_INVALID]


def test_sha1_ecdsa_only_when_allowed(ec_pki) -> None:
    entry = ec_pki.erin.authentication
    signer_info = _signer_info(entry.private_key, "sha1", "sha1_ecdsa")
    refused = _check(signer_info, entry.certificate)
    assert (NOT_ALLOWED, "the digest algorithm SHA-1 is not allowed") in refused.issues
    allowed = _check(signer_info, entry.certificate, allow_sha1=True)
    assert allowed.signature_valid and allowed.sha1_used and not allowed.issues


def test_algorithm_must_fit_the_key_type(own_pki, ec_pki) -> None:
    """An RSA algorithm named for an EC key, and ECDSA named for an RSA key: refused as
    not allowed, never checked with the other scheme."""
    ec_entry, rsa_entry = ec_pki.dave.authentication, own_pki.alice.authentication
    rsa_named = _check(
        _signer_info(ec_entry.private_key, "sha384", "rsassa_pkcs1v15"), ec_entry.certificate
    )
    assert not rsa_named.signature_valid
    assert rsa_named.issues == [
        (NOT_ALLOWED, "the signature algorithm rsassa_pkcs1v15 does not fit the signer's EC key")
    ]
    ecdsa_named = _check(
        _signer_info(rsa_entry.private_key, "sha256", "sha256_ecdsa"), rsa_entry.certificate
    )
    assert not ecdsa_named.signature_valid
    assert ecdsa_named.issues == [
        (NOT_ALLOWED, "the signature algorithm sha256_ecdsa does not fit the signer's RSA key")
    ]
