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
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from ehcert.core.identifiers import Ssin

CertificatePublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

SERIAL_NUMBER_LIMIT = 2**159
"""Exclusive upper bound of a serial number: a positive INTEGER in at most 20 octets."""

OCSP_SIGNER_MAX_VALIDITY = dt.timedelta(days=90)
"""Longest life of an OCSP responder certificate.

It carries id-pkix-ocsp-nocheck, so relying parties never check its revocation status
(RFC 6960 section 4.2.2.2.1 asks for a short lifetime for exactly that reason): a
compromised responder key can only be retired by letting the certificate expire.
"""

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


def random_serial() -> int:
    """A fresh certificate serial number with 158 random bits from the OS CSPRNG.

    Bit 158 is always set and bit 159 never is, so the value is positive, below 2**159
    and always encodes in exactly 20 octets (RFC 5280 section 4.1.2.2); 158 random bits
    exceed the 64 bits the CA/Browser Forum Baseline Requirements section 7.1 demand and
    the 128 this platform asks for, so serials are unpredictable before issuance.
    """
    return (1 << 158) | secrets.randbits(158)


def _key_usage(**asserted: bool) -> x509.KeyUsage:
    """A KeyUsage with exactly the named bits set (the rest false)."""
    unknown = set(asserted) - set(_KU_FALSE)
    if unknown:
        raise ValueError(f"unknown key usage bits: {sorted(unknown)}")
    return x509.KeyUsage(**{**_KU_FALSE, **asserted})


def _aware_utc(field: str, value: object) -> dt.datetime:
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


def _base_builder(
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
    start = _aware_utc("not_before", not_before)
    end = _aware_utc("not_after", not_after)
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


def _check_issuer(issuer: object) -> x509.Certificate:
    if not isinstance(issuer, x509.Certificate):
        raise TypeError("issuer must be an x509.Certificate")
    return issuer


def _authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """The issuer's own subject key identifier if present, else one computed from its key."""
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        issuer_key = issuer.public_key()
        if not isinstance(issuer_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise TypeError("issuer must hold an RSA or EC public key") from None
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key)
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _uri(field: str, value: object) -> x509.UniformResourceIdentifier:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string")
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{field} must be an http or https URL, got {value!r}")
    return x509.UniformResourceIdentifier(value)


def _crl_distribution_points(crl_url: str) -> x509.CRLDistributionPoints:
    """One distribution point with a full name and no reasons or CRL issuer (RFC 5280
    section 4.2.1.13): the complete CRL of the issuer covers every reason."""
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint([_uri("crl_url", crl_url)], None, None, None)]
    )


def _authority_information_access(
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


def _certificate_policies(policy_oid: str) -> x509.CertificatePolicies:
    """One policy identifier, no qualifiers (RFC 5280 section 4.2.1.4 recommends none)."""
    if not isinstance(policy_oid, str):
        raise TypeError("policy_oid must be a dotted OID string")
    try:
        oid = x509.ObjectIdentifier(policy_oid)
    except ValueError:
        raise ValueError(f"policy_oid must be a dotted OID, got {policy_oid!r}") from None
    return x509.CertificatePolicies([x509.PolicyInformation(oid, None)])


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
        _base_builder(
            subject,
            subject,
            public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
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
    issuer = _check_issuer(issuer)
    usage = _key_usage(
        key_cert_sign=True, crl_sign=True, digital_signature=bool(signs_ocsp_responses)
    )
    return (
        _base_builder(
            subject,
            issuer.subject,
            public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(_authority_key_identifier(issuer), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(_crl_distribution_points(crl_url), critical=False)
        .add_extension(
            _authority_information_access(ocsp_url=None, ca_issuers_url=ca_issuers_url),
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
    issuer = _check_issuer(issuer)
    builder = _base_builder(
        subject,
        issuer.subject,
        public_key,
        serial=serial,
        not_before=not_before,
        not_after=not_after,
    )
    life = _aware_utc("not_after", not_after) - _aware_utc("not_before", not_before)
    if life > OCSP_SIGNER_MAX_VALIDITY:
        raise ValueError(
            f"an OCSP responder certificate may live at most {OCSP_SIGNER_MAX_VALIDITY.days}"
            f" days (it carries ocsp-nocheck), asked {life.days} days"
        )
    return (
        builder.add_extension(_authority_key_identifier(issuer), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
    )


def ehealth_authentication_builder(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
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
      eHealth authentication certificates always have.
    - extendedKeyUsage clientAuth + emailProtection: TLS/WS-Security client authentication
      and S/MIME-style signed messages.
    - basicConstraints critical cA=FALSE (see the module docstring).
    - cRLDistributionPoints and authorityInformationAccess (OCSP and caIssuers) so relying
      parties can check status and fetch the issuing CA (RFC 5280 4.2.1.13, 4.2.2.1).
    - certificatePolicies with the eHealth policy OID of this certificate type.
    - subjectKeyIdentifier; authorityKeyIdentifier of the issuing CA.
    """
    issuer = _check_issuer(issuer)
    usage = _key_usage(digital_signature=True, content_commitment=True, key_encipherment=True)
    extended_usage = x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    )
    return (
        _base_builder(
            subject,
            issuer.subject,
            public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            rsa_only=True,
        )
        .add_extension(_authority_key_identifier(issuer), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(extended_usage, critical=False)
        .add_extension(_crl_distribution_points(crl_url), critical=False)
        .add_extension(
            _authority_information_access(ocsp_url=ocsp_url, ca_issuers_url=ca_issuers_url),
            critical=False,
        )
        .add_extension(_certificate_policies(policy_oid), critical=False)
    )


def ehealth_encryption_builder(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
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
    - basicConstraints critical cA=FALSE: although self-issued, it is no CA.
    - subjectKeyIdentifier; authorityKeyIdentifier = the authentication certificate's key
      identifier, which is what tells this certificate apart from a self-signed one.
    """
    auth_certificate = _check_issuer(auth_certificate)
    if subject != auth_certificate.subject:
        raise ValueError("subject must equal the authentication certificate's subject")
    return (
        _base_builder(
            subject,
            auth_certificate.subject,
            public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            rsa_only=True,
        )
        .add_extension(_authority_key_identifier(auth_certificate), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(key_encipherment=True, data_encipherment=True), critical=True)
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
    Use :func:`root_ca_builder` for the matching test root.
    """
    issuer = _check_issuer(issuer)
    builder = (
        _base_builder(
            subject,
            issuer.subject,
            public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(_authority_key_identifier(issuer), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
        .add_extension(_crl_distribution_points(crl_url), critical=False)
    )
    if ca_issuers_url is not None:
        builder = builder.add_extension(
            _authority_information_access(ocsp_url=None, ca_issuers_url=ca_issuers_url),
            critical=False,
        )
    if policy_oid is not None:
        builder = builder.add_extension(_certificate_policies(policy_oid), critical=False)
    return builder


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
    issuer = _check_issuer(issuer)
    builder = (
        _base_builder(
            eid_authentication_subject(ssin, given_names, surname),
            issuer.subject,
            public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
        )
        .add_extension(_authority_key_identifier(issuer), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_crl_distribution_points(crl_url), critical=False)
    )
    if ocsp_url is not None or ca_issuers_url is not None:
        builder = builder.add_extension(
            _authority_information_access(ocsp_url=ocsp_url, ca_issuers_url=ca_issuers_url),
            critical=False,
        )
    if policy_oid is not None:
        builder = builder.add_extension(_certificate_policies(policy_oid), critical=False)
    return builder


def service_signer_builder(
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
    """A platform service's document-signing certificate (the STS's SAML assertions).

    The service signs documents a relying party checks against the environment's issuing
    CA, like a care provider's certificate, but it never authenticates as a client:

    - basicConstraints critical cA=FALSE: an end entity (RFC 5280 section 4.2.1.9);
    - keyUsage critical digitalSignature only: the key makes XML signatures and nothing
      else (RFC 5280 section 4.2.1.3; least privilege);
    - no extendedKeyUsage: no registered purpose fits "signs SAML assertions", and RFC
      5280 section 4.2.1.12 makes the extension optional;
    - cRLDistributionPoints of the issuing CA's CRL (RFC 5280 section 4.2.1.13) and
      authorityInformationAccess caIssuers only (section 4.2.2.1): the OCSP responder
      answers for holders' certificates in the ledger and would say ``unknown``;
    - subjectKeyIdentifier; authorityKeyIdentifier of the issuing CA.
    """
    issuer = _check_issuer(issuer)
    return (
        _base_builder(
            subject,
            issuer.subject,
            public_key,
            serial=serial,
            not_before=not_before,
            not_after=not_after,
            rsa_only=True,
        )
        .add_extension(_authority_key_identifier(issuer), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(_crl_distribution_points(crl_url), critical=False)
        .add_extension(
            _authority_information_access(ocsp_url=None, ca_issuers_url=ca_issuers_url),
            critical=False,
        )
    )
