"""The certificate authority: signs what the RA decided, and nothing else.

One method per signed object, as Boulder's CA: an authentication certificate, a CRL, an
OCSP response (by the responder, renewed when due), a test eID certificate, an ETK (by
the depot signer, through ``pki.etk``), the STS signer's certificate. The platform's
service certificates come from :mod:`ehcert.ca.service_certificates`, the roots' CRLs
and rotations from the operator's ceremonies (:mod:`ehcert.ca.ceremonies`); nothing here
holds a root key.
Each certificate, CRL and OCSP response goes through ``pki.signing``: prepare the
complete object, lint it with pkilint, then sign once with the CA's ``Signer``. The CA
neither reads the registry nor stores anything; the caller records what it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509 import ocsp

from ehcert.ca.credentials import CaPair, PublicUrls
from ehcert.ca.hierarchy import Hierarchy
from ehcert.ca.keys import STS_ROLE
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.policy import certificate_validity
from ehcert.core.revocation import check_revocation_reason
from ehcert.pki import eid_profiles, profiles
from ehcert.pki.etk_build import build_etk
from ehcert.pki.lint import LintProfile
from ehcert.pki.ocsp_status import cert_id_hashes
from ehcert.pki.public_keys import PublicKey
from ehcert.pki.signing import sign_certificate, sign_crl, sign_ocsp_response

EID_VALIDITY = dt.timedelta(days=10 * 365)


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    serial_hex: str
    revoked_at: dt.datetime
    reason: str


@dataclass(frozen=True, slots=True)
class OcspStatus:
    """What the ledger says about one serial; ``None`` fields mean good / unknown."""

    known: bool
    revoked_at: dt.datetime | None = None
    reason: str | None = None


def _reason_flag(reason: str) -> x509.ReasonFlags:
    """The CRLReason of a reason ``core.revocation`` accepts (cryptography's ReasonFlags
    values are the RFC 5280 names)."""
    return x509.ReasonFlags(check_revocation_reason(reason))


def sign_ca_crl(
    issuer: CaPair,
    revoked: Iterable[RevokedEntry],
    number: int,
    now: dt.datetime,
    validity: dt.timedelta,
) -> x509.CertificateRevocationList:
    """A complete CRL of ``issuer`` with CRL number and AKI (RFC 5280 5.2.1, 5.2.3).

    The online CAs sign theirs through :meth:`CertificateAuthority.sign_crl`; the roots'
    are signed by an operator's ceremony (``ca.ceremonies``) with a long validity.
    """
    this_update = now.astimezone(dt.UTC).replace(microsecond=0)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(this_update)
        .next_update(this_update + validity)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer.certificate.public_key()  # type: ignore[arg-type]
            ),
            critical=False,
        )
    )
    for entry in revoked:
        revoked_builder = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(entry.serial_hex, 16))
            .revocation_date(entry.revoked_at.astimezone(dt.UTC).replace(microsecond=0))
        )
        flag = _reason_flag(entry.reason)
        if flag is not x509.ReasonFlags.unspecified:
            # RFC 5280 section 5.3.1: the unspecified code SHOULD be absent.
            revoked_builder = revoked_builder.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(revoked_builder.build())
    return sign_crl(builder, issuer.signer)


class CertificateAuthority:
    def __init__(
        self,
        hierarchy: Hierarchy,
        urls: PublicUrls,
        policy_oid: str,
        *,
        ocsp_validity: dt.timedelta = dt.timedelta(hours=24),
        crl_validity: dt.timedelta = dt.timedelta(hours=24),
    ) -> None:
        self.hierarchy = hierarchy
        self.urls = urls
        self.policy_oid = policy_oid
        self.ocsp_validity = ocsp_validity
        self.crl_validity = crl_validity

    # -- certificates ------------------------------------------------------------------

    def sign_authentication(
        self, subject: x509.Name, public_key: PublicKey, serial: int, now: dt.datetime
    ) -> x509.Certificate:
        """An eHealth authentication certificate, valid exactly 36 months from ``now``."""
        validity = certificate_validity(now)
        issuing = self.hierarchy.issuing
        builder = profiles.ehealth_authentication_builder(
            subject,
            public_key,
            issuing.certificate,
            serial=serial,
            not_before=validity.not_before,
            not_after=validity.not_after,
            crl_url=self.urls.crl,
            ocsp_url=self.urls.ocsp,
            ca_issuers_url=self.urls.ca_issuers("issuing"),
            policy_oid=self.policy_oid,
        )
        return sign_certificate(builder, issuing.signer, lint=LintProfile.END_ENTITY)

    def sign_test_eid(
        self,
        ssin: str,
        given_names: str,
        surname: str,
        public_key: PublicKey,
        now: dt.datetime,
        *,
        validity: dt.timedelta = EID_VALIDITY,
    ) -> x509.Certificate:
        """A test eID authentication certificate (acceptance environment only)."""
        eid_ca = self._eid_ca()
        start = now.astimezone(dt.UTC).replace(microsecond=0)
        builder = eid_profiles.eid_authentication_builder(
            ssin,
            given_names,
            surname,
            public_key,
            eid_ca.certificate,
            serial=profiles.random_serial(),
            not_before=start,
            not_after=start + validity,
            crl_url=self.urls.eid_crl,
            ca_issuers_url=self.urls.ca_issuers("eid-ca"),
        )
        return sign_certificate(builder, eid_ca.signer, lint=LintProfile.EID_AUTHENTICATION)

    def sign_etk(
        self,
        encryption_certificate: x509.Certificate,
        authentication_certificate: x509.Certificate,
        now: dt.datetime,
    ) -> bytes:
        """The ETK (DER CMS SignedData) of an encryption certificate, by the depot signer.

        The RA has already decided that ``authentication_certificate`` (issued here, live)
        vouches for ``encryption_certificate``; the ETK carries the authentication
        certificate and its chain so a relying party verifies both against our anchors.
        """
        depot = self.hierarchy.etk_depot
        return build_etk(
            encryption_certificate,
            (authentication_certificate, *self.hierarchy.chain),
            depot.certificate,
            depot.signer,
            now.astimezone(dt.UTC).replace(microsecond=0),
        )

    def _eid_ca(self) -> CaPair:
        if self.hierarchy.eid_ca is None:
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                "Test eIDs exist only in the acceptance environment; production trusts "
                "real eID cards.",
            )
        return self.hierarchy.eid_ca

    # -- CRLs (RFC 5280 section 5) -----------------------------------------------------

    def sign_crl(
        self,
        issuer: CaPair,
        revoked: Iterable[RevokedEntry],
        number: int,
        now: dt.datetime,
    ) -> x509.CertificateRevocationList:
        """A complete CRL of an online CA (issuing, citizen), valid ``crl_validity``."""
        return sign_ca_crl(issuer, revoked, number, now, self.crl_validity)

    # -- service certificates (``ca.service_certificates``) ----------------------------

    def sts_credential(self, now: dt.datetime) -> CaPair:
        """The STS signer's key and certificate, issued here on first use."""
        return self.hierarchy.services.open(STS_ROLE, now)

    # -- OCSP (RFC 6960) ---------------------------------------------------------------

    def ocsp_response(
        self,
        request: ocsp.OCSPRequest,
        certificate: x509.Certificate | None,
        status: OcspStatus,
        now: dt.datetime,
    ) -> ocsp.OCSPResponse:
        """A basic OCSP response by the delegated signer (RFC 6960 section 4.2.2.2).

        ``certificate`` is the certificate the request asks about when the ledger knows
        it; for an unknown serial the response says ``unknown`` (section 2.2). A request
        nonce is echoed (section 4.4.1).
        """
        issuing = self.hierarchy.issuing.certificate
        this_update = now.astimezone(dt.UTC).replace(microsecond=0)
        builder = ocsp.OCSPResponseBuilder()
        next_update = this_update + self.ocsp_validity
        if certificate is not None and status.known:
            revoked = status.revoked_at is not None
            cert_status = ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD
            revocation_time = (
                status.revoked_at.astimezone(dt.UTC).replace(microsecond=0)
                if status.revoked_at
                else None
            )
            builder = builder.add_response(
                cert=certificate,
                issuer=issuing,
                algorithm=request.hash_algorithm,
                cert_status=cert_status,
                this_update=this_update,
                next_update=next_update,
                revocation_time=revocation_time,
                revocation_reason=_reason_flag(status.reason)
                if revoked and status.reason
                else None,
            )
        else:
            builder = builder.add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number,
                algorithm=request.hash_algorithm,
                cert_status=ocsp.OCSPCertStatus.UNKNOWN,
                this_update=this_update,
                next_update=next_update,
                revocation_time=None,
                revocation_reason=None,
            )
        responder = self.hierarchy.ocsp.current(this_update)
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
        builder = builder.certificates([responder.certificate])
        for extension in request.extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        return sign_ocsp_response(builder, responder.signer, produced_at=this_update)

    def matches_issuer(self, request: ocsp.OCSPRequest) -> bool:
        """Does the request name our issuing CA (RFC 6960 section 4.1.1 CertID)?

        issuerNameHash is the hash of the issuer's DER name, issuerKeyHash the hash of the
        value of its subjectPublicKey BIT STRING, both with the request's algorithm.
        """
        issuing = self.hierarchy.issuing.certificate
        hashes_of_issuing = cert_id_hashes(issuing, request.hash_algorithm)
        return (request.issuer_name_hash, request.issuer_key_hash) == hashes_of_issuing
