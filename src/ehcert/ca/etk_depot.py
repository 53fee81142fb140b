"""The ETK depot signer's certificate profile.

The depot signs every ETK it publishes (a CMS SignedData over the holder's encryption
certificate, RFC 5652 section 5) with a key of its own, certified by the issuing CA, so
a relying party checks an ETK against the same anchors as the holder's authentication
certificate. The certificate:

- subject ``CN=ehcert <Environment> ETK Depot`` under the platform's CA name;
- basicConstraints critical cA=FALSE: an end entity (RFC 5280 section 4.2.1.9);
- keyUsage critical digitalSignature only: the key signs ETKs and nothing else
  (RFC 5280 section 4.2.1.3; least privilege);
- no extendedKeyUsage: no registered purpose fits "signs ETKs", and RFC 5280 section
  4.2.1.12 makes the extension optional;
- cRLDistributionPoints of the issuing CA's CRL, so its status is checkable like any
  certificate of that CA (RFC 5280 section 4.2.1.13); no OCSP URL, because the platform's
  OCSP responder answers for holders' certificates only (the ledger) and would say
  ``unknown``, which a relying party must treat as a failure;
- authorityInformationAccess caIssuers, so the issuing CA can be fetched (4.2.2.1);
- subject and authority key identifiers (4.2.1.1, 4.2.1.2).

Its validity ends with the issuing CA's: an ETK lives as long as the authentication
certificate it is bound to (36 months), and a depot certificate that expired before the
ETKs it signed would make them unverifiable.

The builder lives in ``ca`` rather than ``pki.profiles`` only because this context owns
the depot role; it uses nothing but ``cryptography`` and could move there unchanged.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID


def etk_depot_signer_builder(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    crl_url: str,
    ca_issuers_url: str,
) -> x509.CertificateBuilder:
    """The unsigned certificate of the ETK depot signer (see the module docstring)."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("public_key must be an RSA public key")
    if not isinstance(issuer, x509.Certificate):
        raise TypeError("issuer must be an x509.Certificate")
    issuer_ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before.astimezone(dt.UTC))
        .not_valid_after(not_after.astimezone(dt.UTC))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(crl_url)], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(ca_issuers_url),
                    )
                ]
            ),
            critical=False,
        )
    )
