"""The composition root: settings in, a running platform out.

This is the one place that knows every context, and all it does is build them and
connect them, once, at start. :meth:`Platform.open` opens the database and the CA
hierarchy; :class:`Platform` then makes each context's application service
(``ra.application``, ``etkdepot.service``, ``sts.issuance``) over one set of units of
work (``store.unit_of_work``), hands each the one CA operation it needs, and gives the
HTTP edge (``api.app``) per router only the narrow interface it uses
(:attr:`Platform.edge`). Serving CRLs and OCSP is :mod:`ehcert.platform.revocation`'s;
the work nobody asks for (the eHealthBox's retention) is :attr:`Platform.schedule`'s
(:mod:`ehcert.platform.schedule`), which ``ehcert serve`` runs.

The operator's console (``ehcert admin``, ``ehcert.operations``) works on the platform
object itself; nothing reachable over HTTP does.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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
from ehcert.api.digital_key import DigitalKeyPorts
from ehcert.api.ehbox import EhboxPorts
from ehcert.api.etk import EtkPorts
from ehcert.api.integrators import IntegratorPorts
from ehcert.api.limits import TokenBuckets
from ehcert.api.metrics import PlatformMetrics
from ehcert.api.office import OfficePorts
from ehcert.api.protocol import ProtocolPorts
from ehcert.api.ra import RaPorts
from ehcert.api.revocation import PublishedCas, RevocationPorts
from ehcert.api.sts import StsPorts
from ehcert.api.trust_list import TrustListPorts
from ehcert.ca.authority import CertificateAuthority
from ehcert.ca.ceremonies import create_hierarchy
from ehcert.ca.credentials import PublicUrls
from ehcert.ca.directory import CaDirectory
from ehcert.ca.hierarchy import Hierarchy, hierarchy_directory, is_initialised, load_hierarchy
from ehcert.ca.keys import FileKeyBackend, KeyBackend, Pkcs11KeyBackend
from ehcert.ca.trust_list import TrustListPublisher
from ehcert.core.clock import Clock, SystemClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KeyType
from ehcert.ehbox.model import BoxId
from ehcert.ehbox.service import EhboxLimits, EhboxService
from ehcert.etkdepot.service import EtkDepot
from ehcert.pki.environments import ENVIRONMENTS, EnvironmentCheck
from ehcert.platform.adapters import CitizenRecords, StoredNonces
from ehcert.platform.kept_ocsp import KeptOcspAnswers
from ehcert.platform.metering import MeteredCertificates, MeteredRevocation
from ehcert.platform.revocation import CachedCrl, RevocationServer
from ehcert.platform.schedule import PeriodicJob, Schedule
from ehcert.ra.application import CertificateService
from ehcert.ra.digital_key import LoginPolicy
from ehcert.ra.hybrid_method import DigitalKeyLogins, RegistrationOffices
from ehcert.ra.integrators import IntegratorPath
from ehcert.registry.adapter import AuditedRegistryReads
from ehcert.registry.test_identities import TestIdentities
from ehcert.settings import Settings
from ehcert.store.change_signal import ChangeSignal
from ehcert.store.db import Database
from ehcert.store.unit_of_work import Transactions
from ehcert.sts.issuance import TokenIssuance
from ehcert.sts.keys import StsCredential
from ehcert.sts.service import SecurityTokenService

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RevocationAnswerSources:
    """``api.revocation.RevocationAnswers``: CRLs from the revocation server, OCSP through
    the answers kept in memory (``platform.kept_ocsp``)."""

    crl: Callable[[str], bytes]
    ocsp: Callable[[bytes], bytes]
    kept_ocsp: Callable[[bytes], bytes | None]


class Platform:
    """Everything ``ehcert serve`` runs, wired from :class:`Settings`."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        database: Database,
        hierarchy: Hierarchy,
        backend: KeyBackend,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.database = database
        self.hierarchy = hierarchy
        self.urls = PublicUrls(settings.base_url, settings.environment)
        self.environments = EnvironmentCheck(
            settings.environment, {name: settings.policy_oid(name) for name in ENVIRONMENTS}
        )
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
        self.changes = ChangeSignal(database)
        self.ra = CertificateService(self.transactions, self.ca, settings.environment)
        self.digital_keys = DigitalKeyLogins(self.transactions, LoginPolicy())
        self.offices = RegistrationOffices(self.transactions, f"eHealth {settings.environment}")
        self.integrators = IntegratorPath(self.transactions, self.ca, settings.environment)
        self.test_identities = TestIdentities(self.transactions, settings.environment)
        self.etk_depot = EtkDepot(self.transactions, self.ca, self.changes.token)
        self._kept_ocsp = KeptOcspAnswers(
            self._revocation.ocsp,
            self.changes.token,
            hierarchy.ocsp.unchanged,
            self.now,
        )
        self.sts = TokenIssuance(
            self._open_sts,
            AuditedRegistryReads(self.transactions),
            issuing=hierarchy.issuing.certificate,
            eid_issuers=[*self._eid_ca_certificates(), *self.eid_anchors],
            environments=self.environments,
            max_validity_hours=settings.sts_max_token_hours,
        )
        self.trust_lists = TrustListPublisher(
            hierarchy.directory, backend, settings.environment, settings.base_url
        )
        self.ehbox = EhboxService(
            self.transactions,
            self._etk_available,
            EhboxLimits(
                max_recipients=settings.ehbox_max_recipients,
                max_message_bytes=settings.ehbox_max_message_bytes,
                max_box_bytes=settings.ehbox_max_box_bytes,
                retention=dt.timedelta(days=settings.ehbox_retention_days),
            ),
        )
        self.nonces = StoredNonces(
            self.transactions,
            self.now,
            dt.timedelta(seconds=settings.nonce_ttl_seconds),
            settings.max_outstanding_nonces,
        )
        self.metrics = PlatformMetrics()
        self.edge = self._edge()
        self.schedule = Schedule(
            clock,
            [
                PeriodicJob(
                    "ehbox-purge",
                    dt.timedelta(minutes=settings.ehbox_purge_interval_minutes),
                    self.ehbox.purge_expired,
                )
            ],
        )

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
        return cls(settings, clock, database, hierarchy, backend)

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

    def _etk_available(self, box: BoxId, now: dt.datetime) -> bool:
        """The depot serves a valid ETK for the box's holder (the mailbox's one question
        to the depot, asked through its lookup, never its tables)."""
        (found,) = self.etk_depot.lookup([f"{box.type}={box.value}"], now)
        return found.etk is not None

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
                self.environments,
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
        metrics = self.metrics
        certificates = MeteredCertificates(self.ra, metrics)
        return EdgePorts(
            max_body_bytes=self.settings.max_body_bytes,
            audit_refusal=lambda actor, subject, detail: self.transactions.record_refusal(
                actor, subject, detail, self.now()
            ),
            protocol=ProtocolPorts(
                new_nonce,
                environment,
                TokenBuckets(self.settings.nonce_rate_per_second, self.settings.nonce_burst),
                self.settings.default_key_type,
            ),
            ra=RaPorts(
                certificates,
                signed,
                new_nonce,
                now,
                hierarchy.chain,
                environment,
                self.transactions.shared,
            ),
            etk=EtkPorts(self.etk_depot, signed, new_nonce, now),
            revocation=RevocationPorts(
                MeteredRevocation(
                    RevocationAnswerSources(
                        self._revocation.crl, self._kept_ocsp.answer, self._kept_ocsp.kept
                    ),
                    metrics,
                ),
                published,
            ),
            sts=StsPorts(self.sts, signed, new_nonce, now),
            trust_list=TrustListPorts(self.trust_list, self.trust_lists.read),
            ehbox=EhboxPorts(
                self.ehbox,
                signed,
                new_nonce,
                now,
                sts_certificate=lambda: self.sts.service().credential.certificate,
                sts_issuer=f"{self.settings.base_url}/sts",
                environments=self.environments,
                max_recipients=self.settings.ehbox_max_recipients,
                max_message_bytes=self.settings.ehbox_max_message_bytes,
            ),
            office=OfficePorts(self.offices, signed, new_nonce, now),
            digital_key=DigitalKeyPorts(
                self.digital_keys, certificates, now, hierarchy.chain, environment
            ),
            metrics=metrics,
            integrator=IntegratorPorts(
                self.integrators,
                self.test_identities,
                signed,
                new_nonce,
                now,
                hierarchy.chain,
                environment,
            )
            if environment == "acceptance"
            else None,  # production has no integrator path at all (``api.integrators``)
        )

    # -- for the operator's console and tests ---------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock.now()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with self.transactions.session() as session:
            yield session

    def trust_list(self) -> bytes:
        """The newest signed trust list, made first when due (``ca.trust_list``)."""
        return self.trust_lists.current(self.now(), self.hierarchy.services)

    def crl(self, name: str, *, force: bool = False) -> bytes:
        """The current CRL named ``<env>``, ``<env>-root``, ``<env>-eid``, ``<env>-eid-root``."""
        return self._revocation.crl(name, force=force)

    def ocsp(self, request_der: bytes) -> bytes:
        """An OCSP response (RFC 6960) for a DER request."""
        return self._kept_ocsp.answer(request_der)

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
    return FileKeyBackend(directory, ca_passphrase_file(settings))


def ca_passphrase_file(settings: Settings) -> Path:
    """The CA key passphrase file, moved out of an old data directory on first use.

    Older data directories kept it in ``<data dir>/secrets/``, beside the encrypted keys
    (``Settings.legacy_passphrase_path``). When the configured place holds nothing and
    the old one does, the file is moved there (folder 0700, file 0600) with a warning; if
    it cannot be moved (a read-only data directory, say) it is read where it is, with a
    warning, so an old data directory keeps opening either way.
    """
    target = settings.passphrase_path
    legacy = settings.legacy_passphrase_path
    if target.exists() or not legacy.exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(legacy, target)
        target.chmod(0o600)
        legacy.unlink()
    except OSError as error:
        _log.warning(
            "the CA key passphrase stays in %s, beside the keys (it could not be moved to "
            "%s: %s); set ca_passphrase_file or move it by hand",
            legacy,
            target,
            error,
        )
        return legacy
    _log.warning(
        "moved the CA key passphrase from %s (beside the keys) to %s; back it up apart "
        "from the data directory",
        legacy,
        target,
    )
    return target
