"""The parts every certificate profile is assembled from (``profiles``, ``eid_profiles``).

Each function checks its own input (wrong type: ``TypeError``, wrong value: ``ValueError``)
and returns one piece of an unsigned certificate; the profile modules say which pieces a
kind of certificate carries and why. The common choices are documented in
:mod:`ehcert.pki.profiles`.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID

CertificatePublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

SERIAL_NUMBER_LIMIT = 2**159
"""Exclusive upper bound of a serial number: a positive INTEGER in at most 20 octets."""

_KU_FALSE = {
    "digital_signature": False,
    "content_commitment": False,
    "key_encipherment": False,
    "data_encipherment": False,
    "key_agreement": False,
    "key_cert_sign": False,
    "crl_sign": False,
    "encipher_only": False,
    "decipher_only": False,
}


def key_usage(**asserted: bool) -> x509.KeyUsage:
    """A KeyUsage with exactly the named bits set (the rest false)."""
    unknown = set(asserted) - set(_KU_FALSE)
    if unknown:
        raise ValueError(f"unknown key usage bits: {sorted(unknown)}")
    return x509.KeyUsage(**{**_KU_FALSE, **asserted})


def aware_utc(field: str, value: object) -> dt.datetime:
    """``value`` in UTC; it must be a timezone-aware datetime (RFC 5280 section 4.1.2.5)."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{field} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware")
    return value.astimezone(dt.UTC)


def _check_public_key(value: object, *, rsa_only: bool) -> None:
    allowed: tuple[type, ...] = (
        (rsa.RSAPublicKey,) if rsa_only else (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)
    )
    if not isinstance(value, allowed):
        kinds = "an RSA public key" if rsa_only else "an RSA or EC public key"
        raise TypeError(f"public_key must be {kinds}")


def base_builder(
    subject: x509.Name,
    issuer_name: x509.Name,
    public_key: CertificatePublicKey,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    rsa_only: bool = False,
) -> x509.CertificateBuilder:
    """Subject, issuer, key, serial and validity, all checked; plus the subject key id."""
    if not isinstance(subject, x509.Name):
        raise TypeError("subject must be an x509.Name")
    _check_public_key(public_key, rsa_only=rsa_only)
    if not isinstance(serial, int) or isinstance(serial, bool):
        raise TypeError("serial must be an int")
    if not 0 < serial < SERIAL_NUMBER_LIMIT:
        raise ValueError("serial must be positive and below 2**159 (RFC 5280 4.1.2.2)")
    start = aware_utc("not_before", not_before)
    end = aware_utc("not_after", not_after)
    if end <= start:
        raise ValueError("not_after must be later than not_before")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def check_issuer(issuer: object) -> x509.Certificate:
    """``issuer`` itself, once it is known to be a certificate."""
    if not isinstance(issuer, x509.Certificate):
        raise TypeError("issuer must be an x509.Certificate")
    return issuer


def authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """The issuer's own subject key identifier if present, else one computed from its key."""
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        issuer_key = issuer.public_key()
        if not isinstance(issuer_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise TypeError("issuer must hold an RSA or EC public key") from None
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def under_issuer(
    builder: x509.CertificateBuilder, issuer: x509.Certificate, *, ca_path_length: int | None
) -> x509.CertificateBuilder:
    """``builder`` with the issuer's key identifier and critical basicConstraints.

    ``ca_path_length`` None makes an end entity (cA=FALSE), a number a CA with that
    pathLenConstraint (RFC 5280 sections 4.2.1.1 and 4.2.1.9).
    """
    constraints = (
        x509.BasicConstraints(ca=False, path_length=None)
        if ca_path_length is None
        else x509.BasicConstraints(ca=True, path_length=ca_path_length)
    )
    return builder.add_extension(authority_key_identifier(issuer), critical=False).add_extension(
        constraints, critical=True
    )


def issued_builder(
    subject: x509.Name,
    public_key: CertificatePublicKey,
    issuer: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca_path_length: int | None,
    rsa_only: bool = False,
) -> x509.CertificateBuilder:
    """:func:`base_builder` under ``issuer`` (a checked certificate), then
    :func:`under_issuer`: the opening every issued certificate shares."""
    builder = base_builder(
        subject,
        issuer.subject,
        public_key,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        rsa_only=rsa_only,
    )
    return under_issuer(builder, issuer, ca_path_length=ca_path_length)


def _uri(field: str, value: object) -> x509.UniformResourceIdentifier:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string")
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{field} must be an http or https URL, got {value!r}")
    return x509.UniformResourceIdentifier(value)


def crl_distribution_points(crl_url: str) -> x509.CRLDistributionPoints:
    """One distribution point with a full name and no reasons or CRL issuer (RFC 5280
    section 4.2.1.13): the complete CRL of the issuer covers every reason."""
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint([_uri("crl_url", crl_url)], None, None, None)]
    )


def authority_information_access(
    *, ocsp_url: str | None, ca_issuers_url: str | None
) -> x509.AuthorityInformationAccess:
    """OCSP responder first, then where to fetch the issuer certificate (RFC 5280 4.2.2.1)."""
    descriptions = []
    if ocsp_url is not None:
        descriptions.append(
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, _uri("ocsp_url", ocsp_url))
        )
    if ca_issuers_url is not None:
        descriptions.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                _uri("ca_issuers_url", ca_issuers_url),
            )
        )
    return x509.AuthorityInformationAccess(descriptions)


def certificate_policies(policy_oid: str) -> x509.CertificatePolicies:
    """One policy identifier, no qualifiers (RFC 5280 section 4.2.1.4 recommends none)."""
    if not isinstance(policy_oid, str):
        raise TypeError("policy_oid must be a dotted OID string")
    try:
        oid = x509.ObjectIdentifier(policy_oid)
    except ValueError:
        raise ValueError(f"policy_oid must be a dotted OID, got {policy_oid!r}") from None
    return x509.CertificatePolicies([x509.PolicyInformation(oid, None)])


def with_optional_access_and_policy(
    builder: x509.CertificateBuilder,
    *,
    ocsp_url: str | None,
    ca_issuers_url: str | None,
    policy_oid: str | None,
) -> x509.CertificateBuilder:
    """``builder`` plus authorityInformationAccess when any URL is given, then
    certificatePolicies when a policy is given (both non-critical)."""
    if ocsp_url is not None or ca_issuers_url is not None:
        builder = builder.add_extension(
            authority_information_access(ocsp_url=ocsp_url, ca_issuers_url=ca_issuers_url),
            critical=False,
        )
    if policy_oid is not None:
        builder = builder.add_extension(certificate_policies(policy_oid), critical=False)
    return builder
