"""Lint what the CA is about to sign: pkilint's RFC checks plus the eHealth profiles.

DESIGN.md asks for issuance in two steps, "prepare, lint, then sign once" (as Boulder
does with zlint). :mod:`ehcert.pki.signing` builds each object with a throw-away key, hands
its DER here, and only signs with the real CA key when nothing at WARNING or above is
found. A finding at that level is a bug in the CA's profile code, never the requester's
fault, hence :attr:`ErrorKind.INTERNAL`.

Which validators run mirrors pkilint's own command-line tools, assembled through the
library API:

* certificates: the RFC 5280 set of ``lint_pkix_cert`` (decoders, issuer, validity,
  subject, extensions, SPKI containers) plus one eHealth profile validator per
  :class:`LintProfile`;
* CRLs: the RFC 5280 PKIX profile of ``lint_crl`` (type CRL) plus two RFC 5280 rules:
  ``nextUpdate`` is present (section 5.1.2.5) and no entry uses the reason code
  ``unspecified``, which should be omitted instead (section 5.3.1; pkilint's validator,
  not enabled by its CLI);
* OCSP responses: the RFC 6960 set of ``lint_ocsp_response`` plus the rule that a delegated
  responder includes its certificate (RFC 6960 section 4.2.2.2).

The eHealth profile rules (codes ``ehcert.*``) are the certificate shapes the platform
issues: a key the key policy accepts everywhere (RSA of 2048 bits or more, EC on P-256 or
P-384 by a named curve); an authentication certificate with critical keyUsage
digitalSignature+nonRepudiation+keyEncipherment (without keyEncipherment for an EC key,
RFC 5480 section 3), extendedKeyUsage
exactly clientAuth+emailProtection, a CRL distribution point, OCSP and caIssuers access
and a certificate policy; CA certificates with critical keyCertSign and cRLSign (a root
self-issued, its authorityKeyIdentifier, if any, equal to its own key identifier); an OCSP
signer with only id-kp-OCSPSigning and id-pkix-ocsp-nocheck (RFC 6960 section 4.2.2.2.1);
an ETK depot signer with digitalSignature only and a CRL distribution point; and, for the
acceptance environment, a test eID authentication certificate shaped like
the Belgian card's (digitalSignature only, clientAuth, a CRL distribution point).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID
from pkilint import loader, pkix, validation
from pkilint.pkix import certificate, crl, extension, name, ocsp
from pkilint.pkix.crl import crl_extension
from pyasn1_alt_modules import rfc5280, rfc6960  # type: ignore[import-untyped]

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.lint_traversal import IndexedValidator
from ehcert.pki.public_keys import certificate_key_problem


class LintProfile(enum.Enum):
    """The certificate shapes the platform issues; each has its own profile validator."""

    END_ENTITY = "end-entity"  # a care provider's or institution's authentication cert
    ISSUING_CA = "issuing-ca"
    ROOT_CA = "root-ca"  # self-signed; sign_certificate enforces that the key is the signer's
    OCSP_SIGNER = "ocsp-signer"  # delegated OCSP responder, RFC 6960 section 4.2.2.2
    EID_AUTHENTICATION = "eid-authentication"  # acceptance-only test eID card certificate
    ETK_DEPOT = "etk-depot"  # signs the ETKs the depot publishes (CMS SignedData)


class Severity(enum.IntEnum):
    """pkilint's severity scale (lower is worse), kept typed for our callers."""

    FATAL = 0
    ERROR = 1
    WARNING = 2
    NOTICE = 3
    INFO = 4
    DEBUG = 5


@dataclass(frozen=True)
class Finding:
    """One lint finding: how bad, which rule (pkilint or ``ehcert.*`` code), where."""

    severity: Severity
    code: str
    message: str | None
    node_path: str
    validator: str

    def __str__(self) -> str:
        text = f"{self.code} ({self.severity.name}) at {self.node_path}"
        return f"{text}: {self.message}" if self.message else text


# --- eHealth profile validators (pkilint Validator subclasses) ---------------------------

_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def _finding(severity: Severity, code: str) -> Any:
    return validation.ValidationFinding(validation.ValidationFindingSeverity[severity.name], code)


_PUBLIC_KEY = _finding(Severity.ERROR, "ehcert.public_key_not_accepted")
_CA_FLAG = _finding(Severity.ERROR, "ehcert.basic_constraints_ca_flag_wrong")
_KU_MISSING = _finding(Severity.ERROR, "ehcert.key_usage_missing")
_KU_NOT_CRITICAL = _finding(Severity.ERROR, "ehcert.key_usage_not_critical")
_KU_MISMATCH = _finding(Severity.ERROR, "ehcert.key_usage_mismatch")
_EKU_MISMATCH = _finding(Severity.ERROR, "ehcert.extended_key_usage_mismatch")
_CRLDP_MISSING = _finding(Severity.ERROR, "ehcert.crl_distribution_point_missing")
_AIA_INCOMPLETE = _finding(Severity.ERROR, "ehcert.authority_information_access_incomplete")
_POLICY_MISSING = _finding(Severity.ERROR, "ehcert.certificate_policies_missing")
_ISSUER_SHAPE = _finding(Severity.ERROR, "ehcert.issuer_shape_wrong")
_ROOT_AKI = _finding(Severity.ERROR, "ehcert.root_authority_key_id_not_subject_key_id")
_OCSP_NOCHECK = _finding(Severity.ERROR, "ehcert.ocsp_nocheck_missing")
_CRL_NEXT_UPDATE = _finding(Severity.ERROR, "ehcert.crl_next_update_missing")
_OCSP_NO_RESPONDER_CERT = _finding(Severity.ERROR, "ehcert.ocsp_responder_certificate_missing")


@dataclass(frozen=True)
class _Shape:
    """What one certificate profile requires; checked by :class:`_ProfileValidator`."""

    is_ca: bool
    key_usage_required: frozenset[str]
    key_usage_allowed: frozenset[str]
    # None: not checked. CA certificates may carry an EKU (the Belgian citizen CAs do);
    # RFC 5280 section 4.2.1.12 does not forbid it.
    eku_required: frozenset[x509.ObjectIdentifier] | None
    eku_exact: bool  # no other purposes than the required ones
    self_issued: bool
    needs_crl_dp: bool
    needs_aia: bool  # OCSP and caIssuers
    needs_policy: bool
    needs_ocsp_nocheck: bool = False


_EE_KU = frozenset({"digital_signature", "content_commitment", "key_encipherment"})
_CA_KU = frozenset({"key_cert_sign", "crl_sign"})
_CA_SHAPE = _Shape(
    is_ca=True,
    key_usage_required=_CA_KU,
    key_usage_allowed=_CA_KU | {"digital_signature"},
    eku_required=None,
    eku_exact=False,
    self_issued=False,
    needs_crl_dp=False,
    needs_aia=False,
    needs_policy=False,
)

_SHAPES: dict[LintProfile, _Shape] = {
    LintProfile.END_ENTITY: _Shape(
        is_ca=False,
        key_usage_required=_EE_KU,
        key_usage_allowed=_EE_KU,
        eku_required=frozenset(
            {ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION}
        ),
        eku_exact=True,
        self_issued=False,
        needs_crl_dp=True,
        needs_aia=True,
        needs_policy=True,
    ),
    LintProfile.ISSUING_CA: _CA_SHAPE,
    LintProfile.ROOT_CA: replace(_CA_SHAPE, self_issued=True),
    LintProfile.OCSP_SIGNER: _Shape(
        is_ca=False,
        key_usage_required=frozenset({"digital_signature"}),
        key_usage_allowed=frozenset({"digital_signature", "content_commitment"}),
        eku_required=frozenset({ExtendedKeyUsageOID.OCSP_SIGNING}),
        eku_exact=True,
        self_issued=False,
        needs_crl_dp=False,
        needs_aia=False,
        needs_policy=False,
        needs_ocsp_nocheck=True,
    ),
    LintProfile.EID_AUTHENTICATION: _Shape(
        is_ca=False,
        key_usage_required=frozenset({"digital_signature"}),
        key_usage_allowed=frozenset({"digital_signature"}),
        eku_required=frozenset({ExtendedKeyUsageOID.CLIENT_AUTH}),
        eku_exact=False,
        self_issued=False,
        needs_crl_dp=True,
        needs_aia=False,
        needs_policy=False,
    ),
    # The ETK depot signer: an end entity whose key only signs ETKs (CMS SignedData,
    # RFC 5652 section 5), so digitalSignature; its status is on the issuing CA's CRL.
    LintProfile.ETK_DEPOT: _Shape(
        is_ca=False,
        key_usage_required=frozenset({"digital_signature"}),
        key_usage_allowed=frozenset({"digital_signature"}),
        eku_required=None,
        eku_exact=False,
        self_issued=False,
        needs_crl_dp=True,
        needs_aia=False,
        needs_policy=False,
    ),
}


def _extension_or_none(cert: x509.Certificate, ext_type: type[Any]) -> x509.Extension[Any] | None:
    try:
        return cert.extensions.get_extension_for_class(ext_type)
    except x509.ExtensionNotFound:
        return None


def _for_ec_key(shape: _Shape) -> _Shape:
    """An EC subject key may not assert keyEncipherment or dataEncipherment (RFC 5480
    section 3): the shape without them (an EC authentication certificate is
    digitalSignature + nonRepudiation)."""
    rsa_only = {"key_encipherment", "data_encipherment"}
    return replace(
        shape,
        key_usage_required=shape.key_usage_required - rsa_only,
        key_usage_allowed=shape.key_usage_allowed - rsa_only,
    )


def _key_usage_findings(cert: x509.Certificate, shape: _Shape) -> list[tuple[Any, str]]:
    """RFC 5280 section 4.2.1.3: the bits the profile needs, and no others; critical."""
    ku_ext = _extension_or_none(cert, x509.KeyUsage)
    if ku_ext is None:
        return [(_KU_MISSING, "keyUsage extension is absent")]
    found: list[tuple[Any, str]] = []
    if not ku_ext.critical:
        found.append((_KU_NOT_CRITICAL, "keyUsage must be marked critical"))
    usage: x509.KeyUsage = ku_ext.value
    bits = {bit for bit in _KEY_USAGE_BITS if getattr(usage, bit)}
    missing = shape.key_usage_required - bits
    extra = bits - shape.key_usage_allowed
    if missing or extra:
        found.append(
            (
                _KU_MISMATCH,
                f"keyUsage lacks {sorted(missing)} or has disallowed {sorted(extra)}",
            )
        )
    return found


def _eku_findings(cert: x509.Certificate, shape: _Shape) -> list[tuple[Any, str]]:
    """RFC 5280 section 4.2.1.12 (and RFC 6960 section 4.2.2.2 for id-kp-OCSPSigning)."""
    if shape.eku_required is None:
        return []
    eku_ext = _extension_or_none(cert, x509.ExtendedKeyUsage)
    present = frozenset(eku_ext.value) if eku_ext is not None else frozenset()
    missing = shape.eku_required - present
    extra = present - shape.eku_required if shape.eku_exact else frozenset()
    if not missing and not extra:
        return []
    return [
        (
            _EKU_MISMATCH,
            f"extendedKeyUsage lacks {sorted(o.dotted_string for o in missing)} or has "
            f"disallowed {sorted(o.dotted_string for o in extra)}",
        )
    ]


def _revocation_pointer_findings(cert: x509.Certificate, shape: _Shape) -> list[tuple[Any, str]]:
    """Relying parties must find status: CRL DP (RFC 5280 4.2.1.13), AIA (4.2.2.1)."""
    found: list[tuple[Any, str]] = []
    crldp = _extension_or_none(cert, x509.CRLDistributionPoints)
    if shape.needs_crl_dp and (crldp is None or not any(dp.full_name for dp in crldp.value)):
        found.append((_CRLDP_MISSING, "no cRLDistributionPoints with a full name"))
    if not shape.needs_aia:
        return found
    aia = _extension_or_none(cert, x509.AuthorityInformationAccess)
    methods = {desc.access_method for desc in aia.value} if aia is not None else set()
    wanted = {AuthorityInformationAccessOID.OCSP, AuthorityInformationAccessOID.CA_ISSUERS}
    if not wanted <= methods:
        found.append((_AIA_INCOMPLETE, "authorityInfoAccess needs both OCSP and caIssuers"))
    return found


def _shape_findings(cert: x509.Certificate, shape: _Shape) -> list[tuple[Any, str]]:
    found: list[tuple[Any, str]] = []
    problem = certificate_key_problem(cert, "subject key")
    if problem is not None:
        found.append((_PUBLIC_KEY, problem.detail))
    if isinstance(cert.public_key(), ec.EllipticCurvePublicKey):
        shape = _for_ec_key(shape)
    bc = _extension_or_none(cert, x509.BasicConstraints)
    is_ca = bc is not None and bc.value.ca
    if is_ca != shape.is_ca:
        found.append((_CA_FLAG, f"basicConstraints cA must be {shape.is_ca}"))
    found += _key_usage_findings(cert, shape)
    found += _eku_findings(cert, shape)
    if (cert.issuer == cert.subject) != shape.self_issued:
        wording = "equal" if shape.self_issued else "differ from"
        found.append((_ISSUER_SHAPE, f"issuer must {wording} the subject"))
    if shape.self_issued:
        aki = _extension_or_none(cert, x509.AuthorityKeyIdentifier)
        ski = _extension_or_none(cert, x509.SubjectKeyIdentifier)
        own = ski.value.digest if ski is not None else None
        if aki is not None and aki.value.key_identifier != own:
            found.append((_ROOT_AKI, "a root's authorityKeyIdentifier must equal its SKI"))
    found += _revocation_pointer_findings(cert, shape)
    if shape.needs_policy and _extension_or_none(cert, x509.CertificatePolicies) is None:
        found.append((_POLICY_MISSING, "certificatePolicies extension is absent"))
    if shape.needs_ocsp_nocheck and _extension_or_none(cert, x509.OCSPNoCheck) is None:
        found.append((_OCSP_NOCHECK, "id-pkix-ocsp-nocheck is absent (RFC 6960 4.2.2.2.1)"))
    return found


class _ProfileValidator(validation.Validator):  # type: ignore[misc]
    """Checks one certificate against an eHealth profile (see :data:`_SHAPES`)."""

    def __init__(self, profile: LintProfile) -> None:
        super().__init__(
            validations=[
                _PUBLIC_KEY,
                _CA_FLAG,
                _KU_MISSING,
                _KU_NOT_CRITICAL,
                _KU_MISMATCH,
                _EKU_MISMATCH,
                _CRLDP_MISSING,
                _AIA_INCOMPLETE,
                _POLICY_MISSING,
                _ISSUER_SHAPE,
                _ROOT_AKI,
                _OCSP_NOCHECK,
            ],
            pdu_class=rfc5280.Certificate,
        )
        self._shape = _SHAPES[profile]

    def validate(self, node: Any) -> Any:
        cert = x509.load_der_x509_certificate(node.document.substrate)
        found = _shape_findings(cert, self._shape)
        descriptions = [validation.ValidationFindingDescription(f, msg) for f, msg in found]
        return validation.ValidationResult(self, node, descriptions)


class _CrlNextUpdateValidator(validation.Validator):  # type: ignore[misc]
    """RFC 5280 section 5.1.2.5: conforming CRL issuers MUST include nextUpdate."""

    def __init__(self) -> None:
        super().__init__(validations=[_CRL_NEXT_UPDATE], pdu_class=rfc5280.TBSCertList)

    def validate(self, node: Any) -> None:
        if "nextUpdate" not in node.children:
            raise validation.ValidationFindingEncountered(_CRL_NEXT_UPDATE)


class _OcspResponderCertificateValidator(validation.Validator):  # type: ignore[misc]
    """RFC 6960 section 4.2.2.2: a delegated responder's certificate travels with it."""

    def __init__(self) -> None:
        super().__init__(validations=[_OCSP_NO_RESPONDER_CERT], pdu_class=rfc6960.BasicOCSPResponse)

    def validate(self, node: Any) -> None:
        if "certs" not in node.children or len(node.children["certs"].children) == 0:
            raise validation.ValidationFindingEncountered(
                _OCSP_NO_RESPONDER_CERT, "the response carries no responder certificate"
            )


# --- validator assembly (as pkilint's lint_pkix_cert / lint_crl / lint_ocsp_response) ---


@functools.cache
def _certificate_validator(profile: LintProfile) -> IndexedValidator:
    return IndexedValidator(_certificate_container(profile))


def _certificate_container(profile: LintProfile) -> Any:
    return certificate.create_pkix_certificate_validator_container(
        certificate.create_decoding_validators(
            name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
        ),
        [
            certificate.create_issuer_validator_container([]),
            certificate.create_validity_validator_container(),
            certificate.create_subject_validator_container([]),
            certificate.create_extensions_validator_container([]),
            certificate.create_spki_validator_container([]),
            _ProfileValidator(profile),
        ],
    )


@functools.cache
def _crl_validator() -> IndexedValidator:
    return IndexedValidator(
        crl.create_pkix_crl_validator_container(
            [
                pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
                pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
            ],
            [
                crl.create_issuer_validator_container([]),
                crl.create_validity_validator_container([]),
                crl.create_extensions_validator_container([]),
                crl_extension.CrlReasonCodeValidator(),
                _CrlNextUpdateValidator(),
            ],
        )
    )


@functools.cache
def _ocsp_validator() -> IndexedValidator:
    return IndexedValidator(
        ocsp.create_pkix_ocsp_response_validator_container(
            [
                ocsp.create_response_decoder(),
                pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
                pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
            ],
            [_OcspResponderCertificateValidator()],
        )
    )


def _run(
    load: Callable[[bytes], Any], validator: IndexedValidator, der: bytes, what: str
) -> list[Finding]:
    if not isinstance(der, bytes):
        raise TypeError(f"{what} DER must be bytes")
    try:
        document = load(der)
    except ValueError as exc:
        raise EhcertError(
            ErrorKind.INTERNAL, f"The {what} to lint is not valid DER: {exc}."
        ) from exc
    return _to_findings(validator.validate(document.root))


def _to_findings(results: Iterable[Any]) -> list[Finding]:
    return [
        Finding(
            severity=Severity[description.finding.severity.name],
            code=description.finding.code,
            message=description.message,
            node_path=result.node.path,
            validator=str(result.validator),
        )
        for result in results
        for description in result.finding_descriptions
    ]


_AKI_ABSENT = "pkix.authority_key_identifier_extension_absent"


def lint_certificate(der: bytes, profile: LintProfile) -> list[Finding]:
    """All findings (any severity) of RFC 5280 and the eHealth ``profile`` for ``der``.

    For ROOT_CA the certificate is taken to be self-signed: before signing, ``der``
    carries a placeholder signature, so pkilint cannot see that a self-issued root may
    omit its authorityKeyIdentifier (RFC 5280 section 4.2.1.1) and that one finding is
    dropped. :func:`ehcert.pki.signing.sign_certificate` makes the premise true by
    refusing a ROOT_CA whose key is not the signer's.
    """
    if not isinstance(profile, LintProfile):
        raise TypeError("profile must be a LintProfile")
    findings = _run(
        loader.load_der_certificate, _certificate_validator(profile), der, "certificate"
    )
    if profile is LintProfile.ROOT_CA:
        cert = x509.load_der_x509_certificate(der)
        if cert.issuer == cert.subject:
            findings = [f for f in findings if f.code != _AKI_ABSENT]
    return findings


def lint_crl(der: bytes) -> list[Finding]:
    """All findings of the RFC 5280 CRL profile (section 5) for ``der``."""
    return _run(loader.load_der_crl, _crl_validator(), der, "CRL")


def lint_ocsp_response(der: bytes) -> list[Finding]:
    """All findings of the RFC 6960 response profile for ``der``."""
    return _run(loader.load_der_ocsp_response, _ocsp_validator(), der, "OCSP response")


def blocking(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that stop issuance: WARNING, ERROR or FATAL."""
    return [f for f in findings if f.severity <= Severity.WARNING]


def assert_clean(findings: Sequence[Finding]) -> None:
    """Raise :class:`EhcertError` (INTERNAL) if any finding is at WARNING or above.

    The profile must produce none, so a hit means the CA's own profile code is wrong and
    nothing may be signed.
    """
    bad = blocking(findings)
    if bad:
        listed = "; ".join(str(f) for f in bad)
        raise EhcertError(
            ErrorKind.INTERNAL,
            f"Refusing to sign: {len(bad)} lint finding(s) at WARNING or above: {listed}.",
        )
