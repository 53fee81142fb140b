"""The environment's signed trust list (ETSI TS 119 612): which certificates, when a new one.

Integrators' software must not break when a CA, the OCSP responder or a signer changes,
so the platform publishes every certificate a relying party needs as one signed list
(:mod:`ehcert.pki.trust_list`), and clients follow it by themselves
(:mod:`ehcert.client.trust_store`). The list holds the root, **every issuing CA
generation still valid** (certificates issued before an ``admin ca rotate issuing``
stay valid under the old one), and the current OCSP responder, ETK depot, STS and
trust-list signer certificates.

Lists are numbered (``TSLSequenceNumber``) and kept as ``trust-lists/<n>.xml`` in the CA
folder (:mod:`ehcert.ca.directory`), so a client that missed some can fetch each in turn.
A new list (number + 1) is made

- by the operator's ceremony, whenever ``admin ca rotate`` changed a certificate
  (:func:`ehcert.ca.ceremonies.rotate`); when the trust-list signer itself was re-keyed,
  that list is signed with the **previous** signer's key and lists the new signer: this
  is how the rotation is announced, so a client that trusted the previous list accepts
  it, and the next list, signed by the new key, after it;
- by the running platform (:meth:`TrustListPublisher.current`), when the certificates
  changed underneath it (the OCSP responder renews itself, a signer is made on first use)
  or when :data:`REISSUE_BEFORE` or less is left before ``NextUpdate``.

Everything runs under the CA folder's lock, so several API processes make one list, not
one each. The signer is a service key certified by the issuing CA
(:mod:`ehcert.ca.service_certificates`); no root key is ever needed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ehcert.ca.credentials import CaPair
from ehcert.ca.directory import CaDirectory
from ehcert.ca.keys import (
    ETK_DEPOT_ROLE,
    ISSUING_ROLE,
    OCSP_ROLE,
    ROOT_ROLE,
    STS_ROLE,
    TRUST_LIST_ROLE,
    KeyBackend,
)
from ehcert.ca.service_certificates import ServiceCertificates, current_service_certificate
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki import xades
from ehcert.pki.files import write_private_file
from ehcert.pki.trust_list import TrustService, build_trust_list, read_trust_list

TRUST_LIST_VALIDITY = dt.timedelta(days=30)
"""ListIssueDateTime to NextUpdate (TS 119 612 section 5.3.15 allows up to six months)."""
REISSUE_BEFORE = dt.timedelta(days=10)
FOLDER = "trust-lists"
SERVICE_ORDER = (OCSP_ROLE, ETK_DEPOT_ROLE, STS_ROLE, TRUST_LIST_ROLE)


class TrustListPublisher:
    """Makes, keeps and reads the numbered trust lists of one CA folder."""

    def __init__(
        self, directory: CaDirectory, backend: KeyBackend, environment: str, base_url: str
    ) -> None:
        self.directory = directory
        self._backend = backend
        self._environment = environment
        self._base_url = base_url.rstrip("/")

    # -- the stored lists ----------------------------------------------------------------

    @property
    def folder(self) -> Path:
        return self.directory.path / FOLDER

    def latest_sequence(self) -> int:
        """The number of the newest list, 0 when none was ever made."""
        if not self.folder.is_dir():
            return 0
        numbers = [int(p.stem) for p in self.folder.glob("*.xml") if p.stem.isdigit()]
        return max(numbers, default=0)

    def read(self, sequence: int) -> bytes:
        """List number ``sequence`` as it was published."""
        if not isinstance(sequence, int) or sequence < 1:
            raise EhcertError(
                ErrorKind.MALFORMED, "A trust list number is a positive integer.", field="sequence"
            )
        try:
            return (self.folder / f"{sequence}.xml").read_bytes()
        except FileNotFoundError:
            raise EhcertError(ErrorKind.NOT_FOUND, f"No trust list number {sequence}.") from None

    # -- what the list must hold ---------------------------------------------------------

    def _issuing_generations(self, now: dt.datetime) -> list[TrustService]:
        """Every issuing CA generation whose certificate is still valid at ``now``."""
        return [
            TrustService(ISSUING_ROLE, generation, certificate)
            for certificate, generation in self.directory.generations_of(ISSUING_ROLE)
            if certificate.not_valid_after_utc > now
        ]

    def live_services(self, now: dt.datetime) -> list[TrustService]:
        """The certificates a list made at ``now`` holds (see the module docstring)."""
        root, root_generation = self.directory.certificate(ROOT_ROLE)
        services = [TrustService(ROOT_ROLE, root_generation, root)]
        services += self._issuing_generations(now)
        for role in SERVICE_ORDER:
            if self.directory.has_certificate(role):
                certificate, generation = self.directory.certificate(role)
                services.append(TrustService(role, generation, certificate))
        return services

    # -- making a list -------------------------------------------------------------------

    def publish(self, now: dt.datetime, signer: CaPair | None = None) -> int:
        """Sign and store the next list; returns its number. Hold the folder's exclusive
        lock. ``signer`` is the current trust-list signer unless a ceremony passes the
        previous one (a signer rotation)."""
        signer = signer or current_service_certificate(
            self.directory, self._backend, TRUST_LIST_ROLE
        )
        if signer is None:
            raise EhcertError(
                ErrorKind.NOT_FOUND, "There is no trust-list signer certificate to sign with."
            )
        issued = now.astimezone(dt.UTC).replace(microsecond=0)
        sequence = self.latest_sequence() + 1
        document = build_trust_list(
            environment=self._environment,
            base_url=self._base_url,
            sequence=sequence,
            issued=issued,
            next_update=issued + TRUST_LIST_VALIDITY,
            services=self.live_services(issued),
        )
        signed = xades.sign_enveloped(
            document, signer=signer.signer, certificate=signer.certificate, signing_time=issued
        )
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private_file(self.folder / f"{sequence}.xml", signed)
        return sequence

    def _due(self, now: dt.datetime) -> bool:
        sequence = self.latest_sequence()
        if sequence == 0:
            return True
        published = read_trust_list(xades.parse_xml(self.read(sequence)))
        live = {(s.role, s.generation, s.fingerprint) for s in self.live_services(now)}
        listed = {(s.role, s.generation, s.fingerprint) for s in published.services}
        return live != listed or published.next_update - now <= REISSUE_BEFORE

    def current(self, now: dt.datetime, services: ServiceCertificates) -> bytes:
        """The newest list, made first when it is due (see the module docstring).

        ``services`` makes the trust-list signer on first use, before the folder's lock
        is taken for the list (that call takes it itself).
        """
        with self.directory.locked(exclusive=False):
            due = self._due(now)
        if due:
            services.open(TRUST_LIST_ROLE, now)
            with self.directory.locked(exclusive=True):
                if self._due(now):
                    self.publish(now)
        return self.read(self.latest_sequence())
