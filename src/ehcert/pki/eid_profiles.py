"""Test eID certificates: the acceptance environment's look-alikes of Belgian eID cards.

The eID login path (an eID signature over a server nonce, checked up to a configured
anchor) must be exercised against certificates shaped like real ones, without real
cards. The builders here reproduce the Belgian Citizen CA and citizen authentication
certificates, extension by extension, from the shared parts in
:mod:`ehcert.pki.profile_parts`; the differences from real cards are named in each
docstring. They stay importable from :mod:`ehcert.pki.profiles`.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ehcert.core.identifiers import Ssin
from ehcert.pki.profile_parts import (
    CertificatePublicKey,
    check_issuer,
    crl_distribution_points,
    issued_builder,
    key_usage,
    with_optional_access_and_policy,
)


def eid_citizen_ca_builder(
    subject: x509.Name,
    public_key: CertificatePublicKey,
    issuer: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    crl_url: str,
    ca_issuers_url: str | None = None,
    policy_oid: str | None = None,
) -> x509.CertificateBuilder:
    """The acceptance environment's own "Citizen CA", shaped like the Belgian one.

    The real Citizen CA (e.g. ``C=BE, CN=Citizen CA, serialNumber=201810``, issued by
    Belgium Root CA4) carries: basicConstraints critical cA pathLen 0; keyUsage critical
    keyCertSign + cRLSign; extendedKeyUsage clientAuth + emailProtection (it constrains
    what its citizen certificates may be used for); the root's CRL distribution point;
    certificatePolicies; subject and authority key identifiers. This builder reproduces
    that shape so the eID login path is exercised against realistic certificates.
    Use :func:`ehcert.pki.profiles.root_ca_builder` for the matching test root.
    """
    issuer = check_issuer(issuer)
    builder = (
        issued_builder(
            subject,
            public_key,
            issuer,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            ca_path_length=0,
        )
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
        .add_extension(crl_distribution_points(crl_url), critical=False)
    )
    return with_optional_access_and_policy(
        builder, ocsp_url=None, ca_issuers_url=ca_issuers_url, policy_oid=policy_oid
    )


def eid_authentication_subject(ssin: Ssin | str, given_names: str, surname: str) -> x509.Name:
    """The subject of a Belgian eID authentication certificate.

    ``C=BE, CN=<first given name> <surname> (Authentication), SN=<surname>,
    GN=<all given names>, serialNumber=<SSIN>``: the common name uses only the first given
    name, the givenName attribute all of them, as on real cards (for instance
    ``CN=Frederik Libert (Authentication), GN=Frederik Eugeen``). The SSIN in
    serialNumber is what the RA reads to identify the citizen.
    """
    ssin_value = ssin if isinstance(ssin, Ssin) else Ssin(ssin)
    for field, value in (("given_names", given_names), ("surname", surname)):
        if not isinstance(value, str):
            raise TypeError(f"{field} must be a string")
        if not value.strip():
            raise ValueError(f"{field} must not be empty")
    first_given_name = given_names.split(maxsplit=1)[0]
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
            x509.NameAttribute(
                NameOID.COMMON_NAME, f"{first_given_name} {surname.strip()} (Authentication)"
            ),
            x509.NameAttribute(NameOID.SURNAME, surname.strip()),
            x509.NameAttribute(NameOID.GIVEN_NAME, " ".join(given_names.split())),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, ssin_value.value),
        ]
    )


def eid_authentication_builder(
    ssin: Ssin | str,
    given_names: str,
    surname: str,
    public_key: CertificatePublicKey,
    issuer: x509.Certificate,
    *,
    serial: int,
    not_before: dt.datetime,
    not_after: dt.datetime,
    crl_url: str,
    ocsp_url: str | None = None,
    ca_issuers_url: str | None = None,
    policy_oid: str | None = None,
) -> x509.CertificateBuilder:
    """A test citizen's eID authentication certificate, shaped like the Belgian one.

    Subject from :func:`eid_authentication_subject`. keyUsage critical digitalSignature
    (the card key only signs authentication challenges); extendedKeyUsage clientAuth;
    the Citizen CA's CRL distribution point; optionally AIA (OCSP, caIssuers) and a
    certificate policy, as real cards carry; the authority key identifier, as real cards
    carry; basicConstraints critical cA=FALSE and a subject key identifier, which real
    cards omit, added so the certificate passes the RFC 5280 lint like every other.
    """
    issuer = check_issuer(issuer)
    builder = (
        issued_builder(
            eid_authentication_subject(ssin, given_names, surname),
            public_key,
            issuer,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            ca_path_length=None,
        )
        .add_extension(key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(crl_distribution_points(crl_url), critical=False)
    )
    return with_optional_access_and_policy(
        builder, ocsp_url=ocsp_url, ca_issuers_url=ca_issuers_url, policy_oid=policy_oid
    )
