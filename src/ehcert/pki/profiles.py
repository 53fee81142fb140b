"""Certificate profiles: one builder per kind of certificate the platform signs.

A builder here is a complete, unsigned ``x509.CertificateBuilder``; signing (and the lint
run before it) belongs to ``pki.signing``, so "prepare, lint, sign once" (DESIGN.md) holds.
Each builder documents the rule behind every extension. Common choices:

- Subject and authority key identifiers use RFC 5280 section 4.2.1.2 method 1 (SHA-1 of
  the subjectPublicKey bit string); the authority key identifier carries only the key
  identifier, copied from the issuer's own subject key identifier when it has one, so that
  path builders match on exactly the bytes the issuer advertises (section 4.2.1.1).
- ``basicConstraints`` in end-entity certificates is present with ``cA=FALSE`` and marked
  critical. RFC 5280 section 4.2.1.9 allows it in end-entity certificates with either
  criticality, and pkilint's RFC 5280 validators accept both; critical is chosen so that a
  relying party that does not understand the extension refuses the certificate instead of
  guessing whether it is a CA. The Belgian eID certificates the test eID mimics omit it.
- Validity times must be timezone-aware; they are converted to UTC (RFC 5280 section
  4.1.2.5: UTCTime or GeneralizedTime, always in Zulu time).
- Serial numbers are positive and below 2**159 (20 octets, RFC 5280 section 4.1.2.2);
  :func:`random_serial` draws them from the OS CSPRNG.
"""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from ehcert.pki.profile_parts import (
    CertificatePublicKey,
    authority_information_access,
    aware_utc,
    base_builder,
    certificate_policies,
    check_issuer,
    crl_distribution_points,
    issued_builder,
    key_usage,
    under_issuer,
)

# The eID look-alikes moved to eid_profiles and the shared parts to profile_parts; the
# names listed here stay importable from this module.
__all__ = [
    "OCSP_SIGNER_MAX_VALIDITY",
    "ehealth_authentication_builder",
    "ehealth_encryption_builder",
    "issuing_ca_builder",
    "ocsp_signer_builder",
    "random_serial",
    "root_ca_builder",
    "service_signer_builder",
]

OCSP_SIGNER_MAX_VALIDITY = dt.timedelta(days=90)
"""Longest life of an OCSP responder certificate.

It carries id-pkix-ocsp-nocheck, so relying parties never check its revocation status
(RFC 6960 section 4.2.2.2.1 asks for a short lifetime for exactly that reason): a
compromised responder key can only be retired by letting the certificate expire.
"""


def random_serial() -> int:
    """A fresh certificate serial number with 158 random bits from the OS CSPRNG.

    Bit 158 is always set and bit 159 never is, so the value is positive, below 2**159
    and always encodes in exactly 20 octets (RFC 5280 section 4.1.2.2); 158 random bits
    exceed the 64 bits the CA/Browser Forum Baseline Requirements section 7.1 demand and
    the 128 this platform asks for, so serials are unpredictable before issuance.
    """
    return (1 << 158) | secrets.randbits(158)


def root_ca_builder(
    subject: x509.Name,
    public_key: CertificatePublicKey,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    """A self-signed root CA (the platform's, or the acceptance environment's eID root).

    - basicConstraints critical, cA, pathLenConstraint 1: the root signs issuing CAs, which
      sign only end entities, so at most one intermediate may follow (RFC 5280 4.2.1.9).
    - keyUsage critical keyCertSign + cRLSign: the root signs certificates and the CRL of
      its issuing CAs, nothing else (RFC 5280 section 4.2.1.3).
    - subjectKeyIdentifier (required in CA certificates, RFC 5280 section 4.2.1.2) and an
      authorityKeyIdentifier equal to it: RFC 5280 section 4.2.1.1 lets a self-signed
      certificate omit the AKI, but pkilint's RFC 5280 profile (which every signed object
      must pass) asks for it, and a matching AKI lets path builders treat the root like
      any other link.
    """
    return (
        base_builder(
            subject,
            subject,
            public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier(
                key_identifier=x509.SubjectKeyIdentifier.from_public_key(public_key).digest,
                authority_cert_issuer=None,
                authority_cert_serial_number=None,
            ),
            critical=False,
        )
    )


def issuing_ca_builder(
    subject: x509.Name,
    public_key: CertificatePublicKey,
    issuer: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    crl_url: str,
    ca_issuers_url: str,
    signs_ocsp_responses: bool = False,
) -> x509.CertificateBuilder:
    """An issuing CA under the root: it signs eHealth certificates, never another CA.

    - basicConstraints critical, cA, pathLenConstraint 0 (RFC 5280 section 4.2.1.9).
    - keyUsage critical keyCertSign + cRLSign. digitalSignature is left out by default:
      the platform's OCSP responses are signed by a delegated responder certificate
      (:func:`ocsp_signer_builder`), so the CA key never signs anything but certificates
      and CRLs, and least privilege keeps it that way. Pass ``signs_ocsp_responses=True``
      if this CA key signs OCSP responses itself (RFC 6960 section 4.2.2.2 allows it;
      the CA/Browser Forum Baseline Requirements section 7.1.2.10.7 then require the
      digitalSignature bit).
    - subjectKeyIdentifier; authorityKeyIdentifier = the root's key identifier.
    - cRLDistributionPoints: the root's CRL, where this CA's revocation is published.
    - authorityInformationAccess caIssuers: where to fetch the root certificate.
    """
    issuer = check_issuer(issuer)
    usage = key_usage(
        key_cert_sign=True, crl_sign=True, digital_signature=bool(signs_ocsp_responses)
    )
    return (
        issued_builder(
            subject,
            public_key,
            issuer,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            ca_path_length=0,
        )
        .add_extension(usage, critical=True)
        .add_extension(crl_distribution_points(crl_url), critical=False)
        .add_extension(
            authority_information_access(ocsp_url=None, ca_issuers_url=ca_issuers_url),
            critical=False,
        )
    )


def ocsp_signer_builder(
    subject: x509.Name,
    public_key: CertificatePublicKey,
    issuer: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    """A delegated OCSP responder certificate, issued by the CA whose status it signs.

    - basicConstraints critical cA=FALSE: an end entity.
    - keyUsage critical digitalSignature: OCSP responses are signatures.
    - extendedKeyUsage id-kp-OCSPSigning: RFC 6960 section 4.2.2.2 authorises a delegated
      responder only through this purpose in a certificate issued by the CA itself.
    - id-pkix-ocsp-nocheck (RFC 6960 section 4.2.2.2.1): clients need not ask for the
      responder's own status; in exchange the life is short, at most
      :data:`OCSP_SIGNER_MAX_VALIDITY` (a longer validity raises ``ValueError``).
    - subjectKeyIdentifier; authorityKeyIdentifier of the issuing CA.
    """
    issuer = check_issuer(issuer)
    builder = base_builder(
        subject,
        issuer.subject,
        public_key,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
    )
    life = aware_utc("not_after", not_after) - aware_utc("not_before", not_before)
    if life > OCSP_SIGNER_MAX_VALIDITY:
        raise ValueError(
            f"an OCSP responder certificate may live at most {OCSP_SIGNER_MAX_VALIDITY.days}"
            f" days (it carries ocsp-nocheck), asked {life.days} days"
        )
    return (
        under_issuer(builder, issuer, ca_path_length=None)
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
    )


def ehealth_authentication_builder(
    subject: x509.Name,
    public_key: CertificatePublicKey,
    issuer: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    crl_url: str,
    ocsp_url: str,
    ca_issuers_url: str,
    policy_oid: str,
) -> x509.CertificateBuilder:
    """The eHealth authentication certificate of a care provider or institution.

    The subject comes from the registry (eHealth DN rules in ``core``), never from the CSR.

    - keyUsage critical digitalSignature + nonRepudiation (contentCommitment) +
      keyEncipherment: the same key authenticates to eHealth services, signs sealed
      messages non-repudiably (the inner signature of ETEE) and signs ETK material, as
      eHealth authentication certificates always have. An EC key (P-256, P-384, as in
      eHealth's second-generation certificates) gets digitalSignature + nonRepudiation:
      RFC 5480 section 3 forbids keyEncipherment for id-ecPublicKey.
    - extendedKeyUsage clientAuth + emailProtection: TLS/WS-Security client authentication
      and S/MIME-style signed messages.
    - basicConstraints critical cA=FALSE (see the module docstring).
    - cRLDistributionPoints and authorityInformationAccess (OCSP and caIssuers) so relying
      parties can check status and fetch the issuing CA (RFC 5280 4.2.1.13, 4.2.2.1).
    - certificatePolicies with the eHealth policy OID of this certificate type.
    - subjectKeyIdentifier; authorityKeyIdentifier of the issuing CA.
    """
    issuer = check_issuer(issuer)
    usage = key_usage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=not isinstance(public_key, ec.EllipticCurvePublicKey),
    )
    extended_usage = x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    )
    return (
        issued_builder(
            subject,
            public_key,
            issuer,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            ca_path_length=None,
        )
        .add_extension(usage, critical=True)
        .add_extension(extended_usage, critical=False)
        .add_extension(crl_distribution_points(crl_url), critical=False)
        .add_extension(
            authority_information_access(ocsp_url=ocsp_url, ca_issuers_url=ca_issuers_url),
            critical=False,
        )
        .add_extension(certificate_policies(policy_oid), critical=False)
    )


def ehealth_encryption_builder(
    subject: x509.Name,
    public_key: CertificatePublicKey,
    auth_certificate: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    """The encryption certificate, signed by the holder's own AUTHENTICATION key.

    This is the eHealth ETK layout: the certificate inside an ETK names the holder as both
    subject and issuer and is signed by the authentication key, so whoever trusts the
    authentication certificate can check that the holder vouches for the encryption key.
    The platform never sees the encryption private key; the Certificate Manager builds and
    signs this locally. ``subject`` must equal the authentication certificate's subject
    (``ValueError`` otherwise).

    - keyUsage critical keyEncipherment + dataEncipherment: the key only unwraps the
      content-encryption keys of sealed messages (RSA key transport, RFC 5652 6.2.1).
      An EC key gets keyAgreement alone: it agrees on a key-encryption key with the
      sender's ephemeral key (ECDH, RFC 5753 section 3; RFC 5480 section 3).
    - basicConstraints critical cA=FALSE: although self-issued, it is no CA.
    - subjectKeyIdentifier; authorityKeyIdentifier = the authentication certificate's key
      identifier, which is what tells this certificate apart from a self-signed one.
    """
    auth_certificate = check_issuer(auth_certificate)
    if subject != auth_certificate.subject:
        raise ValueError("subject must equal the authentication certificate's subject")
    return issued_builder(
        subject,
        public_key,
        auth_certificate,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        ca_path_length=None,
    ).add_extension(encryption_key_usage(public_key), critical=True)


def encryption_key_usage(public_key: CertificatePublicKey) -> x509.KeyUsage:
    """keyEncipherment + dataEncipherment for RSA, keyAgreement for EC (see above)."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return key_usage(key_agreement=True)
    return key_usage(key_encipherment=True, data_encipherment=True)


def service_signer_builder(
    subject: x509.Name,
    public_key: CertificatePublicKey,
    issuer: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    crl_url: str,
    ca_issuers_url: str,
) -> x509.CertificateBuilder:
    """A platform service's document-signing certificate: the STS's SAML assertions and
    the ETK depot's ETKs (CMS SignedData over a holder's encryption certificate).

    The service signs documents a relying party checks against the environment's issuing
    CA, like a care provider's certificate, but it never authenticates as a client:

    - basicConstraints critical cA=FALSE: an end entity (RFC 5280 section 4.2.1.9);
    - keyUsage critical digitalSignature only: the key signs those documents and nothing
      else (RFC 5280 section 4.2.1.3; least privilege);
    - no extendedKeyUsage: no registered purpose fits "signs SAML assertions" or "signs
      ETKs", and RFC 5280 section 4.2.1.12 makes the extension optional;
    - cRLDistributionPoints of the issuing CA's CRL (RFC 5280 section 4.2.1.13) and
      authorityInformationAccess caIssuers only (section 4.2.2.1): the OCSP responder
      answers for holders' certificates in the ledger and would say ``unknown``;
    - subjectKeyIdentifier; authorityKeyIdentifier of the issuing CA.
    """
    issuer = check_issuer(issuer)
    return (
        issued_builder(
            subject,
            public_key,
            issuer,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            ca_path_length=None,
        )
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(crl_distribution_points(crl_url), critical=False)
        .add_extension(
            authority_information_access(ocsp_url=None, ca_issuers_url=ca_issuers_url),
            critical=False,
        )
    )
