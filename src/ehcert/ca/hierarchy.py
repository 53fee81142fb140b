"""The CA hierarchy of one environment, as the running platform opens it.

Per environment (acceptance and production never share anything, so an acceptance
certificate can never chain to a production anchor):

- a root CA (RSA 4096, 20 years), the trust anchor; its key is **offline**: only the
  operator's ceremonies open it (:mod:`ehcert.ca.ceremonies`), and the root CRL they sign
  is served from a file;
- an issuing CA (RSA 3072, 10 years), online: it signs care providers' certificates,
  their CRL and the platform's service certificates (:mod:`ehcert.ca.service_certificates`:
  the OCSP responder, renewed while running, the ETK depot signer and the STS signer);
- in acceptance only, a test eID root (offline, like the root) and citizen CA (online)
  that mimic the Belgian eID hierarchy (Belgium Root CA -> Citizen CA), so integrators
  and tests get eID credentials (``ehcert admin eid issue``).

Certificates and key generations live under ``<data dir>/pki/<environment>/``
(:mod:`ehcert.ca.directory`); private keys in encrypted files there or in an HSM
(:mod:`ehcert.ca.keys`). Either way the CA only ever sees a ``Signer``, and the
:class:`Hierarchy` the platform gets holds no root signer at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from ehcert.ca.credentials import CaCertificate, CaPair, PublicUrls, matches_key
from ehcert.ca.directory import CaDirectory
from ehcert.ca.keys import (
    EID_CA_ROLE,
    EID_ROOT_ROLE,
    ETK_DEPOT_ROLE,
    ISSUING_ROLE,
    OCSP_ROLE,
    ROOT_ROLE,
    KeyBackend,
)
from ehcert.ca.service_certificates import OcspResponder, ServiceCertificates
from ehcert.core.errors import EhcertError, ErrorKind


@dataclass(frozen=True)
class Hierarchy:
    """The open CA of one environment: online keys as signers, roots as certificates."""

    environment: str
    root: CaCertificate
    issuing: CaPair
    ocsp: OcspResponder
    etk_depot: CaPair
    eid_root: CaCertificate | None
    eid_ca: CaPair | None
    services: ServiceCertificates

    @property
    def chain(self) -> tuple[x509.Certificate, x509.Certificate]:
        """Issuing CA then root: what accompanies an issued certificate."""
        return (self.issuing.certificate, self.root.certificate)

    @property
    def directory(self) -> CaDirectory:
        return self.services.directory


def hierarchy_directory(data_dir: Path, environment: str) -> Path:
    return data_dir / "pki" / environment


def is_initialised(data_dir: Path, environment: str) -> bool:
    return (hierarchy_directory(data_dir, environment) / "issuing.crt").exists()


def open_ca_pair(directory: CaDirectory, backend: KeyBackend, role: str) -> CaPair:
    """The current certificate of a CA ``role`` with the signer of its key."""
    certificate, generation = directory.certificate(role)
    signer = backend.open(role, generation)
    if not matches_key(certificate, signer):
        raise EhcertError(
            ErrorKind.INTERNAL,
            f"The {role} certificate in {directory.path} does not match its key (generation "
            f"{generation}); restore the pair from a backup.",
        )
    return CaPair(certificate, signer)


def load_hierarchy(
    directory: CaDirectory,
    backend: KeyBackend,
    environment: str,
    now: dt.datetime,
    urls: PublicUrls,
) -> Hierarchy:
    """Open an initialised hierarchy without touching a root key.

    The OCSP responder certificate is renewed here when due (and again whenever it falls
    due while running); a data directory made before the ETK depot existed gets its
    depot signer here, on first open, so existing installations keep loading.
    """
    if not directory.has_certificate(ISSUING_ROLE):
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"No {environment} CA hierarchy in {directory.path}; run 'ehcert admin init' first.",
        )
    with directory.locked(exclusive=False):
        root = CaCertificate(directory.certificate(ROOT_ROLE)[0])
        issuing = open_ca_pair(directory, backend, ISSUING_ROLE)
        eid_root = eid_ca = None
        if directory.has_certificate(EID_CA_ROLE):
            eid_root = CaCertificate(directory.certificate(EID_ROOT_ROLE)[0])
            eid_ca = open_ca_pair(directory, backend, EID_CA_ROLE)
    services = ServiceCertificates(directory, backend, issuing, urls, environment)
    ocsp_pair = services.open(OCSP_ROLE, now)
    ocsp = OcspResponder(services, ocsp_pair)
    ocsp.current(now)
    etk_depot = services.open(ETK_DEPOT_ROLE, now)
    return Hierarchy(environment, root, issuing, ocsp, etk_depot, eid_root, eid_ca, services)
