"""The composition root: settings in, a running platform out.

This is the one place that knows every context, and all it does is build them and
connect them, once, at start. :meth:`Platform.open` opens the database and the CA
hierarchy; :class:`Platform` then makes each context's application service
(``ra.application``, ``etkdepot.service``, ``sts.issuance``) over one set of units of
work (``store.unit_of_work``), hands each the one CA operation it needs, and gives the
HTTP edge (``api.app``) per router only the narrow interface it uses
(:attr:`Platform.edge`). Serving CRLs and OCSP is :mod:`ehcert.platform.revocation`'s.

The operator's console (``ehcert admin``, ``ehcert.operations``) works on the platform
object itself; nothing reachable over HTTP does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from sqlalchemy.orm import Session

from ehcert.api.app import EdgePorts
from ehcert.api.authentication import (
    Authenticators,
    CertificateAuthenticator,
    CitizenCaRevocation,
    EidAuthenticator,
    SignedRequests,
)
from ehcert.api.etk import EtkPorts
from ehcert.api.protocol import ProtocolPorts
from ehcert.api.ra import RaPorts
from ehcert.api.revocation import PublishedCas, RevocationPorts
from ehcert.api.sts import StsPorts
from ehcert.ca.authority import CertificateAuthority
from ehcert.ca.ceremonies import create_hierarchy
from ehcert.ca.credentials import PublicUrls
from ehcert.ca.directory import CaDirectory
from ehcert.ca.hierarchy import Hierarchy, hierarchy_directory, is_initialised, load_hierarchy
from ehcert.ca.keys import FileKeyBackend, KeyBackend, Pkcs11KeyBackend
from ehcert.core.clock import Clock, SystemClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KeyType
from ehcert.etkdepot.service import EtkDepot
from ehcert.platform.adapters import CitizenRecords, StoredNonces
from ehcert.platform.revocation import CachedCrl, RevocationServer
from ehcert.ra.application import CertificateService
from ehcert.registry.adapter import AuditedRegistryReads
from ehcert.settings import Settings
from ehcert.store.db import Database
from ehcert.store.unit_of_work import Transactions
from ehcert.sts.issuance import TokenIssuance
from ehcert.sts.keys import StsCredential
from ehcert.sts.service import SecurityTokenService


class Platform:
    """Everything ``ehcert serve`` runs, wired from :class:`Settings`."""

    def __init__(
        self, settings: Settings, clock: Clock, database: Database, hierarchy: Hierarchy
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.database = database
        self.hierarchy = hierarchy
        self.urls = PublicUrls(settings.base_url, settings.environment)
        self.ca = CertificateAuthority(
            hierarchy,
            self.urls,
            settings.policy_oid(settings.environment),
            ocsp_validity=dt.timedelta(hours=settings.ocsp_validity_hours),
            crl_validity=dt.timedelta(hours=settings.crl_validity_hours),
        )
        self.eid_anchors = load_eid_anchors(hierarchy, settings.extra_eid_anchors)
        self._revocation = RevocationServer(
            settings.environment, hierarchy, self.ca, database, self.now
        )
        self.transactions = Transactions(database)
        self.ra = CertificateService(self.transactions, self.ca, settings.environment)
        self.etk_depot = EtkDepot(self.transactions, self.ca)
        self.sts = TokenIssuance(
            self._open_sts,
            AuditedRegistryReads(self.transactions),
            issuing=hierarchy.issuing.certificate,
            eid_issuers=[*self._eid_ca_certificates(), *self.eid_anchors],
            environment=settings.environment,
            max_validity_hours=settings.sts_max_token_hours,
        )
        self.nonces = StoredNonces(
            self.transactions, self.now, dt.timedelta(seconds=settings.nonce_ttl_seconds)
        )
        self.edge = self._edge()

    # -- construction ------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        *,
        initialise: bool = True,
        progress: Callable[[str], None] | None = None,
        key_type: KeyType | None = None,
    ) -> Platform:
        """Open (and on first run initialise) the data directory of ``settings``;
        ``key_type`` is the CA keys' type when it initialises (``admin init --key-type``)."""
        clock = clock or SystemClock()
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        database = Database(settings.database_url)
        database.migrate()
        backend = key_backend(settings)
        directory = ca_directory(settings)
        urls = PublicUrls(settings.base_url, settings.environment)
        if is_initialised(settings.data_dir, settings.environment):
            hierarchy = load_hierarchy(directory, backend, settings.environment, clock.now(), urls)
        elif initialise:
            hierarchy = create_hierarchy(
                directory,
                backend,
                settings.environment,
                urls,
                clock.now(),
                progress=progress,
                key_type=key_type,
            )
        else:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"{settings.data_dir} holds no {settings.environment} CA hierarchy; run "
                "'ehcert admin init' first.",
            )
        return cls(settings, clock, database, hierarchy)

    def _eid_ca_certificates(self) -> list[x509.Certificate]:
        pairs = (self.hierarchy.eid_root, self.hierarchy.eid_ca)
        return [pair.certificate for pair in pairs if pair is not None]

    def _open_sts(self) -> SecurityTokenService:
        """The STS with its key and certificate (made on first use; ``sts.keys``)."""
        settings = self.settings
        issued = self.ca.sts_credential(self.now())  # only the CA signs (``ca``)
        return SecurityTokenService(
            StsCredential(issued.certificate, issued.signer),
            f"{settings.base_url}/sts",
            token_validity=dt.timedelta(hours=settings.sts_token_hours),
            max_token_validity=dt.timedelta(hours=settings.sts_max_token_hours),
        )

    def _signed_requests(self) -> SignedRequests:
        hierarchy = self.hierarchy
        eid_root, eid_ca = hierarchy.eid_root, hierarchy.eid_ca
        eid_revocation = CitizenCaRevocation(
            eid_root.certificate if eid_root is not None else None,
            eid_ca.certificate if eid_ca is not None else None,
            CitizenRecords(self.transactions),
        )
        return SignedRequests(
            self.settings.base_url,
            self.nonces.consume,
            Authenticators(
                EidAuthenticator(self.eid_anchors, eid_revocation),
                CertificateAuthenticator(
                    hierarchy.issuing.certificate, hierarchy.root.certificate, self.ra.issued
                ),
            ),
            self.now,
        )

    def _edge(self) -> EdgePorts:
        """Per router of the HTTP edge, the narrow interface it uses (``api.app``)."""
        hierarchy, environment = self.hierarchy, self.settings.environment
        signed, new_nonce, now = self._signed_requests(), self.nonces.issue, self.now
        published = PublishedCas(
            environment=environment,
            root=hierarchy.root.certificate,
            issuing=hierarchy.issuing.certificate,
            etk_depot=hierarchy.etk_depot.certificate,
            eid_root=hierarchy.eid_root.certificate if hierarchy.eid_root else None,
            eid_ca=hierarchy.eid_ca.certificate if hierarchy.eid_ca else None,
            eid_anchors=tuple(self.eid_anchors),
            ocsp_signer=lambda: hierarchy.ocsp.certificate,
        )
        return EdgePorts(
            max_body_bytes=self.settings.max_body_bytes,
            protocol=ProtocolPorts(new_nonce, environment, self.settings.default_key_type),
            ra=RaPorts(self.ra, signed, new_nonce, now, hierarchy.chain, environment),
            etk=EtkPorts(self.etk_depot, signed, new_nonce, now),
            revocation=RevocationPorts(self._revocation, published),
            sts=StsPorts(self.sts, signed, new_nonce, now),
        )

    # -- for the operator's console and tests ---------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock.now()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with self.transactions.session() as session:
            yield session

    def crl(self, name: str, *, force: bool = False) -> bytes:
        """The current CRL named ``<env>``, ``<env>-root``, ``<env>-eid``, ``<env>-eid-root``."""
        return self._revocation.crl(name, force=force)

    def ocsp(self, request_der: bytes) -> bytes:
        """An OCSP response (RFC 6960) for a DER request."""
        return self._revocation.ocsp(request_der)

    @property
    def _crl_cache(self) -> dict[str, CachedCrl]:
        """The signed CRLs kept in memory; emptying it makes the next ``crl`` re-sign."""
        return self._revocation.crl_cache


def load_eid_anchors(hierarchy: Hierarchy, extra: Sequence[Path | str]) -> list[x509.Certificate]:
    """The eID CAs requests may chain to: the test eID root, then the configured files."""
    anchors: list[x509.Certificate] = []
    if hierarchy.eid_root is not None:
        anchors.append(hierarchy.eid_root.certificate)
    for path in extra:
        data = Path(path).read_bytes()
        if b"-----BEGIN" in data:
            anchors += x509.load_pem_x509_certificates(data)
        else:
            anchors.append(x509.load_der_x509_certificate(data))
    return anchors


def ca_directory(settings: Settings) -> CaDirectory:
    """The CA folder of ``settings``' environment (certificates, generations, root CRLs)."""
    return CaDirectory(hierarchy_directory(settings.data_dir, settings.environment))


def key_backend(settings: Settings) -> KeyBackend:
    """Encrypted key files beside the certificates, or a PKCS#11 token when configured."""
    if settings.pkcs11_module:
        if not settings.pkcs11_token_label or not settings.pkcs11_pin_file:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "PKCS#11 CA keys need pkcs11_token_label and pkcs11_pin_file as well.",
                field="pkcs11_module",
            )
        pin = Path(settings.pkcs11_pin_file).read_text(encoding="utf-8").strip()
        return Pkcs11KeyBackend(
            settings.environment, settings.pkcs11_module, settings.pkcs11_token_label, pin
        )
    directory = hierarchy_directory(settings.data_dir, settings.environment)
    passphrase_file = settings.data_dir / "secrets" / f"{settings.environment}-ca-passphrase"
    return FileKeyBackend(directory, passphrase_file)
