"""The platform's own service certificates, issued by the CA like any other.

Three services sign with keys certified by the environment's issuing CA, so a relying
party checks what they sign against the same anchors as a care provider's certificate
(and an acceptance answer never verifies against production):

- the delegated OCSP responder (``ocsp``; RFC 6960 section 4.2.2.2), 90 days;
- the ETK depot signer (``etk-depot``), the STS signer (``sts``) and the trust-list
  signer (``trust-list``, :mod:`ehcert.ca.trust_list`), all with the one
  document-signer profile :func:`ehcert.pki.profiles.service_signer_builder`, until the
  issuing CA expires.

Each is made by one code path, :meth:`ServiceCertificates.issue`: a new key of the
role's next generation from the key backend, the role's profile, lint (pkilint), one
signature by the issuing CA, and the generation recorded (:mod:`ehcert.ca.directory`).
The services themselves only ever receive the resulting certificate and signer.

The OCSP responder certificate is short-lived, so :class:`OcspResponder` renews it while
the platform runs: checked lazily before each OCSP signature, renewed (new key, new
generation) when it is not yet valid or 30 days or fewer remain, under the folder's
lock so several API processes on one data directory make one new certificate, not one
each, and pick up each other's renewals and an operator's rotation.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from ehcert.ca.credentials import CaPair, PublicUrls, ca_name, matches_key
from ehcert.ca.directory import CaDirectory
from ehcert.ca.keys import (
    ETK_DEPOT_ROLE,
    OCSP_ROLE,
    STS_ROLE,
    TRUST_LIST_ROLE,
    KeyBackend,
    role_key_type,
)
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KeyType, key_type_of
from ehcert.core.recent import RecentValue
from ehcert.pki import profiles
from ehcert.pki.lint import LintProfile
from ehcert.pki.public_keys import PublicKey, key_facts
from ehcert.pki.signing import sign_certificate

OCSP_SIGNER_DAYS = 90
OCSP_SIGNER_RENEW_BEFORE = dt.timedelta(days=30)
SERVICE_ROLES = (OCSP_ROLE, STS_ROLE, ETK_DEPOT_ROLE, TRUST_LIST_ROLE)

Build = Callable[
    [x509.Name, PublicKey, x509.Certificate, PublicUrls, dt.datetime],
    x509.CertificateBuilder,
]


@dataclass(frozen=True)
class ServiceProfile:
    """How the CA certifies one service role."""

    title: str
    lint: LintProfile
    build: Build


def _ocsp(
    subject: x509.Name,
    key: PublicKey,
    issuing: x509.Certificate,
    _urls: PublicUrls,
    start: dt.datetime,
) -> x509.CertificateBuilder:
    end = min(start + dt.timedelta(days=OCSP_SIGNER_DAYS), issuing.not_valid_after_utc)
    return profiles.ocsp_signer_builder(
        subject, key, issuing, serial=profiles.random_serial(), not_before=start, not_after=end
    )


def _document_signer(
    subject: x509.Name,
    key: PublicKey,
    issuing: x509.Certificate,
    urls: PublicUrls,
    start: dt.datetime,
) -> x509.CertificateBuilder:
    """The ETK depot's and the STS's certificate: one profile (``pki.profiles``), valid
    until the issuing CA expires, so nothing they signed outlives its signer's chain."""
    return profiles.service_signer_builder(
        subject,
        key,
        issuing,
        serial=profiles.random_serial(),
        not_before=start,
        not_after=issuing.not_valid_after_utc,
        crl_url=urls.crl,
        ca_issuers_url=urls.ca_issuers("issuing"),
    )


SERVICE_PROFILES: dict[str, ServiceProfile] = {
    OCSP_ROLE: ServiceProfile("OCSP Responder", LintProfile.OCSP_SIGNER, _ocsp),
    # Both document signers have one shape: an end entity with digitalSignature only and
    # a CRL distribution point (the ETK depot's lint profile).
    ETK_DEPOT_ROLE: ServiceProfile("ETK Depot", LintProfile.ETK_DEPOT, _document_signer),
    STS_ROLE: ServiceProfile("STS", LintProfile.ETK_DEPOT, _document_signer),
    # The trust list's XAdES signer (ca.trust_list): a document signer too.
    TRUST_LIST_ROLE: ServiceProfile("Trust List Signer", LintProfile.ETK_DEPOT, _document_signer),
}


def _profile(role: str) -> ServiceProfile:
    try:
        return SERVICE_PROFILES[role]
    except KeyError:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"{role!r} is not a service role; use one of {', '.join(SERVICE_ROLES)}.",
            field="role",
        ) from None


def next_generation(directory: CaDirectory, backend: KeyBackend, role: str) -> int:
    """The first generation after the current one whose key name is still free.

    A role that has no certificate yet starts at its recorded generation (0 in a new
    folder); a key left behind by an interrupted run is stepped over, never reused.
    """
    generation = directory.generation(role)
    if directory.has_certificate(role):
        generation += 1
    while backend.holds(role, generation):
        generation += 1
    return generation


def current_service_certificate(
    directory: CaDirectory, backend: KeyBackend, role: str
) -> CaPair | None:
    """The recorded certificate of ``role`` with its key, or ``None`` when there is none."""
    if not directory.has_certificate(role):
        return None
    certificate, generation = directory.certificate(role)
    signer = backend.open(role, generation)
    if not matches_key(certificate, signer):
        path = directory.certificate_path(role, generation)
        raise EhcertError(
            ErrorKind.INTERNAL,
            f"The {role} certificate {path} does not match the {role.upper()} key; restore "
            "the pair or remove both so a new one is made.",
        )
    return CaPair(certificate, signer)


class ServiceCertificates:
    """Issues and opens the service certificates under one issuing CA."""

    def __init__(
        self,
        directory: CaDirectory,
        backend: KeyBackend,
        issuing: CaPair,
        urls: PublicUrls,
        environment: str,
    ) -> None:
        self.directory = directory
        self._backend = backend
        self._issuing = issuing
        self._urls = urls
        self._environment = environment

    def issue(self, role: str, now: dt.datetime) -> CaPair:
        """A new key and certificate for ``role``: key, profile, lint, sign once, record.

        The caller holds the folder's exclusive lock.
        """
        profile = _profile(role)
        issuer = self._issuing.certificate
        if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
            raise EhcertError(
                ErrorKind.CERTIFICATE_EXPIRED,
                f"The issuing CA certificate is valid only from "
                f"{issuer.not_valid_before_utc.date().isoformat()} to "
                f"{issuer.not_valid_after_utc.date().isoformat()}, so it cannot certify a new "
                f"{role} key now; rotate the issuing CA first (ehcert admin ca rotate issuing).",
            )
        generation = next_generation(self.directory, self._backend, role)
        signer = self._backend.create(role, generation, self.key_type(role))
        public_key = signer.public_key()
        start = now.astimezone(dt.UTC).replace(microsecond=0)
        subject = ca_name(self._environment, profile.title)
        builder = profile.build(subject, public_key, self._issuing.certificate, self._urls, start)
        certificate = sign_certificate(builder, self._issuing.signer, lint=profile.lint)
        self.directory.record(role, generation, certificate)
        return CaPair(certificate, signer)

    def key_type(self, role: str) -> KeyType:
        """The key a new ``role`` key gets: an EC issuing CA's curve for the OCSP
        responder (it answers for that CA, as eHealth's second-generation CA's responder
        does), else the role's RSA size (:func:`ehcert.ca.keys.role_key_type`)."""
        issuing_key = self._issuing.signer.public_key()
        hierarchy = None
        if isinstance(issuing_key, ec.EllipticCurvePublicKey):
            hierarchy = key_type_of(key_facts(issuing_key))
        return role_key_type(role, hierarchy)

    def current(self, role: str) -> CaPair | None:
        """The recorded key and certificate of ``role``, if any (no lock taken)."""
        return current_service_certificate(self.directory, self._backend, role)

    def open(self, role: str, now: dt.datetime) -> CaPair:
        """The current key and certificate of ``role``, made on first use (under the lock)."""
        _profile(role)  # a service role, not a CA's
        with self.directory.locked(exclusive=True):
            return self.current(role) or self.issue(role, now)

    def issued_by_us(self, certificate: x509.Certificate) -> bool:
        """Was ``certificate`` signed by the issuing key this process holds?"""
        try:
            certificate.verify_directly_issued_by(self._issuing.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


def responder_usable(certificate: x509.Certificate, now: dt.datetime) -> bool:
    """Valid at ``now`` (notBefore as well as notAfter) with more than 30 days to run."""
    return (
        certificate.not_valid_before_utc <= now
        and certificate.not_valid_after_utc - now > OCSP_SIGNER_RENEW_BEFORE
    )


def _usable_window(
    certificate: x509.Certificate,
) -> tuple[x509.Certificate, dt.datetime, dt.datetime]:
    """The certificate with the instants between which :func:`responder_usable` holds."""
    renew_at = certificate.not_valid_after_utc - OCSP_SIGNER_RENEW_BEFORE
    return certificate, certificate.not_valid_before_utc, renew_at


class OcspResponder:
    """The delegated OCSP responder's key and certificate, renewed while the platform runs.

    :meth:`current` costs one comparison and one ``stat`` when nothing is due, so it runs
    before every OCSP signature (see the module docstring). :meth:`unchanged` runs before
    every kept answer is sent, tens of thousands of times a second: it compares ``now``
    with the certificate's usable window worked out once, and looks at the generations
    file at most once a millisecond (``core.recent``), so another process's renewal or an
    operator's rotation is noticed within that millisecond.
    """

    def __init__(self, services: ServiceCertificates, pair: CaPair) -> None:
        self._services = services
        self._pair = pair
        self._window = _usable_window(pair.certificate)
        self._stamp = services.directory.generations_stamp()
        self._recent_stamp = RecentValue(services.directory.generations_stamp)
        self._lock = threading.Lock()

    @property
    def certificate(self) -> x509.Certificate:
        """The responder certificate in use (as last checked)."""
        return self._pair.certificate

    def unchanged(self, now: dt.datetime) -> x509.Certificate | None:
        """The certificate in use if nothing is due at ``now`` (no renewal, no rotation
        recorded by another process), else None; never renews, so it may run anywhere."""
        certificate, usable_from, renew_at = self._window
        if usable_from <= now < renew_at and self._recent_stamp.get() == self._stamp:
            return certificate
        return None

    def current(self, now: dt.datetime) -> CaPair:
        """The pair to sign with at ``now``, renewed or reloaded first when due."""
        directory = self._services.directory
        pair = self._pair
        if responder_usable(pair.certificate, now) and directory.generations_stamp() == self._stamp:
            return pair
        with self._lock, directory.locked(exclusive=True):
            pair = self._pair
            recorded = self._services.current(OCSP_ROLE)
            if (
                recorded is not None
                and recorded.certificate != pair.certificate
                and self._services.issued_by_us(recorded.certificate)
                and responder_usable(recorded.certificate, now)
            ):
                pair = recorded  # renewed or rotated by another process or an operator
            if not responder_usable(pair.certificate, now):
                pair = self._services.issue(OCSP_ROLE, now)
            self._pair = pair
            self._window = _usable_window(pair.certificate)
            self._stamp = directory.generations_stamp()
            self._recent_stamp.forget()
            return pair
