"""Building the eHealth encryption token (ETK): the ETK depot's side.

The depot wraps a holder's encryption certificate in a CMS SignedData (RFC 5652
section 5) signed with its own key; reading and verifying a token is
:mod:`ehcert.pki.etk`, which also re-exports :func:`build_etk`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ehcert.pki.public_keys import signature_hash
from ehcert.pki.signer import Signer


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def build_etk(
    encryption_certificate: x509.Certificate,
    authentication_chain: Sequence[x509.Certificate],
    depot_certificate: x509.Certificate,
    depot_signer: Signer,
    signing_time: dt.datetime,
) -> bytes:
    """The DER ETK: SHA-256, RSASSA-PKCS1-v1_5 by ``depot_signer``, signed attributes
    contentType, signingTime and messageDigest (RFC 5652 5.3 and 11). A depot with an EC
    key signs ECDSA with its curve's hash, which is then the digest algorithm too
    (RFC 5753 section 2.1.1: ecdsa-with-SHA256 or -SHA384).

    The encryption certificate may hold an RSA or EC key; the token wraps it unchanged.

    ``authentication_chain`` is the authentication certificate first, then its CAs.
    The depot's key must match ``depot_certificate`` (ValueError otherwise).
    """
    if not isinstance(encryption_certificate, x509.Certificate):
        raise TypeError("encryption_certificate must be an x509.Certificate")
    chain = list(authentication_chain)
    if not chain or not all(isinstance(c, x509.Certificate) for c in chain):
        raise ValueError("authentication_chain must start with the authentication certificate")
    if not isinstance(depot_certificate, x509.Certificate):
        raise TypeError("depot_certificate must be an x509.Certificate")
    if not isinstance(signing_time, dt.datetime):
        raise TypeError("signing_time must be a datetime")
    if signing_time.tzinfo is None or signing_time.utcoffset() is None:
        raise ValueError("signing_time must be timezone-aware")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if depot_signer.public_key().public_bytes(
        serialization.Encoding.DER, spki
    ) != depot_certificate.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise ValueError("depot_signer does not hold the key of depot_certificate")
    depot_key = depot_certificate.public_key()
    digest_name = "sha256"
    signature_algorithm = "rsassa_pkcs1v15"
    if isinstance(depot_key, ec.EllipticCurvePublicKey):
        digest_name = signature_hash(depot_key).name
        signature_algorithm = f"{digest_name}_ecdsa"
    content = _der(encryption_certificate)
    moment = signing_time.astimezone(dt.UTC).replace(microsecond=0)
    time_value = (
        core.UTCTime(moment) if 1950 <= moment.year <= 2049 else core.GeneralizedTime(moment)
    )
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute(
            {
                "type": "signing_time",
                "values": [
                    cms.Time(
                        {
                            "utc_time"
                            if isinstance(time_value, core.UTCTime)
                            else "generalized_time": time_value
                        }
                    )
                ],
            }
        ),
        cms.CMSAttribute(
            {"type": "message_digest", "values": [hashlib.new(digest_name, content).digest()]}
        ),
    ]
    attributes.sort(key=lambda a: a.dump())  # DER SET OF order (X.690 section 11.6)
    signed_attributes = cms.CMSAttributes(attributes)
    signature = depot_signer.sign(signed_attributes.dump())
    depot = asn1_x509.Certificate.load(_der(depot_certificate))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": depot.issuer,
                        "serial_number": depot.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": digest_name},
            "signed_attrs": signed_attributes,
            "signature_algorithm": {"algorithm": signature_algorithm},
            "signature": signature,
        }
    )
    certificates: list[bytes] = []
    for certificate in [*chain, depot_certificate]:
        der = _der(certificate)
        if der not in certificates:
            certificates.append(der)
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": digest_name}],
            "encap_content_info": {"content_type": "data", "content": content},
            "certificates": [asn1_x509.Certificate.load(c) for c in certificates],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())
