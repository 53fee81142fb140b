"""The composition root: settings in, a running platform out.

This is the one place that knows every context. :meth:`Platform.open` opens the
database and the CA hierarchy; each request then runs in one unit of work, with the
RA's narrow ports (``ra.ports``) bound to the store by :mod:`ehcert.platform.adapters`:
issuance, the ledger row and the audit record commit together or not at all. Refusals
are audited after the request's transaction rolls back, in a transaction of their own,
so no refusal is lost with it. Request authentication (JWS, nonces, signer chains; RFC
8555 sections 6.2 and 6.5) and the choice of CA key backend live here too; serving
CRLs and OCSP is delegated to :mod:`ehcert.platform.revocation`.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from sqlalchemy.orm import Session

from ehcert.ca.authority import CertificateAuthority
from ehcert.ca.ceremonies import create_hierarchy
from ehcert.ca.credentials import CaCertificate, CaPair, PublicUrls
from ehcert.ca.directory import CaDirectory
from ehcert.ca.hierarchy import Hierarchy, hierarchy_directory, is_initialised, load_hierarchy
from ehcert.ca.keys import FileKeyBackend, KeyBackend, Pkcs11KeyBackend
from ehcert.core.clock import Clock, SystemClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.etkdepot.lookup import EtkAnswer, look_up, parse_queries
from ehcert.pki.jws import verify_jws
from ehcert.pki.pathval import RevocationStatus
from ehcert.platform.adapters import (
    Ledger,
    LedgerIssuer,
    LedgerRevoker,
    RequestAudit,
    StoredEtkChallenges,
    StoredEtkIndex,
    StoredEtkPublisher,
    facts_from_record,
    write_refusals,
)
from ehcert.platform.revocation import CachedCrl, RevocationServer
from ehcert.ra.authentication import (
    Authenticators,
    CertificateAuthenticator,
    EidAuthenticator,
    Identity,
    KnownCertificate,
)
from ehcert.ra.etk_registration import EtkRegistrar, IssuedChallenge
from ehcert.ra.ports import CertificateFacts, EtkPublication
from ehcert.ra.service import RegistrationAuthority
from ehcert.registry.adapter import RegistryFacts
from ehcert.settings import Settings
from ehcert.store.certificates import CertificateReader
from ehcert.store.db import Database
from ehcert.store.eid import EidRepository
from ehcert.store.nonces import NonceRepository

T = TypeVar("T")


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
        self.eid_anchors = self._eid_anchors()
        self._revocation = RevocationServer(
            settings.environment, hierarchy, self.ca, database, self.now
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
    ) -> Platform:
        """Open (and on first run initialise) the data directory of ``settings``.

        Opening never touches a root key (``ca.hierarchy``); only the first run's
        initialisation, the ``init`` ceremony, makes one (``ca.ceremonies``).
        """
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
                directory, backend, settings.environment, urls, clock.now(), progress=progress
            )
        else:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"{settings.data_dir} holds no {settings.environment} CA hierarchy; run "
                "'ehcert admin init' first.",
            )
        return cls(settings, clock, database, hierarchy)

    def _eid_anchors(self) -> list[x509.Certificate]:
        anchors: list[x509.Certificate] = []
        if self.hierarchy.eid_root is not None:
            anchors.append(self.hierarchy.eid_root.certificate)
        for path in self.settings.extra_eid_anchors:
            data = Path(path).read_bytes()
            if b"-----BEGIN" in data:
                anchors += x509.load_pem_x509_certificates(data)
            else:
                anchors.append(x509.load_der_x509_certificate(data))
        return anchors

    # -- units of work -----------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock.now()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with self.database.session() as session:
            yield session

    def _run_ra(self, operation: Callable[[RegistrationAuthority], T]) -> T:
        return self._audited(
            lambda session, audit: operation(
                RegistrationAuthority(
                    RegistryFacts(session),
                    Ledger(session),
                    LedgerIssuer(self.ca, session, self.settings.environment),
                    LedgerRevoker(session),
                    audit,
                )
            )
        )

    def _run_etk(self, operation: Callable[[EtkRegistrar], T]) -> T:
        return self._audited(
            lambda session, audit: operation(
                EtkRegistrar(
                    Ledger(session),
                    StoredEtkChallenges(session),
                    StoredEtkPublisher(session),
                    self.ca,
                    audit,
                )
            )
        )

    def _audited(self, operation: Callable[[Session, RequestAudit], T]) -> T:
        """One unit of work; refusals are audited afterwards in their own (module doc)."""
        audit: RequestAudit | None = None
        try:
            with self.database.session() as session:
                audit = RequestAudit(session)
                return operation(session, audit)
        finally:
            if audit is not None and audit.refusals:
                with self.database.session() as session:
                    write_refusals(session, audit.refusals)

    @property
    def ra(self) -> _RaGateway:
        return _RaGateway(self)

    # -- nonces and request authentication (RFC 8555 sections 6.2 and 6.5) ------------

    def new_nonce(self) -> str:
        value = secrets.token_urlsafe(24)
        with self.database.session() as session:
            repository = NonceRepository(session)
            repository.create(
                value, self.now(), dt.timedelta(seconds=self.settings.nonce_ttl_seconds)
            )
        return value

    def authenticate(self, body: bytes, url: str) -> tuple[Identity, dict[str, Any]]:
        """Verify a signed request: JWS signature and URL, single-use nonce, signer chain."""
        verified = verify_jws(body, expected_url=url)
        with self.database.session() as session:
            fresh = NonceRepository(session).consume(verified.nonce, self.now())
        if not fresh:
            raise EhcertError(
                ErrorKind.BAD_NONCE,
                "The request's nonce is unknown, expired or already used; fetch a new one.",
            )
        identity = self._authenticators().authenticate(verified.chain, self.now())
        try:
            payload = json.loads(verified.payload or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise EhcertError(ErrorKind.MALFORMED, "The signed payload is not JSON.") from error
        if not isinstance(payload, dict):
            raise EhcertError(ErrorKind.MALFORMED, "The signed payload must be a JSON object.")
        return identity, payload

    def _authenticators(self) -> Authenticators:
        return Authenticators(
            EidAuthenticator(self.eid_anchors, self._eid_revocation),
            CertificateAuthenticator(
                self.hierarchy.issuing.certificate, self.hierarchy.root.certificate, self._known
            ),
        )

    def _known(self, serial_hex: str) -> KnownCertificate | None:
        with self.database.session() as session:
            record = CertificateReader(session).by_serial(serial_hex)
        if record is None:
            return None
        return KnownCertificate(record.serial_hex, record.der, record.status, record.not_after)

    def _eid_revocation(
        self, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> RevocationStatus:
        """Revocation of eID certificates: our test citizen CA answers from its records.

        Certificates from other configured eID CAs would need their issuers' OCSP
        responders; without an answer the status is unknown, and unknown fails closed.
        """
        eid_root, eid_ca = self.hierarchy.eid_root, self.hierarchy.eid_ca
        if eid_root is not None and issuer == eid_root.certificate:
            return RevocationStatus.good()  # the test eID root has revoked no CA
        if eid_ca is not None and issuer == eid_ca.certificate:
            with self.database.session() as session:
                credential = EidRepository(session).by_serial(
                    format(certificate.serial_number, "x")
                )
            if credential is None:
                return RevocationStatus.unknown("the test citizen CA has no record of it")
            if credential.revoked_at is not None:
                return RevocationStatus.revoked(None, credential.revoked_at)
            return RevocationStatus.good()
        return RevocationStatus.unknown(
            f"no revocation source is configured for {issuer.subject.rfc4514_string()}"
        )

    # -- the ETK depot -----------------------------------------------------------------

    def etk_challenge(self, identity: Identity, encryption_der: bytes) -> IssuedChallenge:
        """Registration step 1 (``ra.etk_registration``): a challenge for the key."""
        now = self.now()
        return self._run_etk(lambda registrar: registrar.challenge(identity, encryption_der, now))

    def etk_answer(self, identity: Identity, challenge_id: str, answer: bytes) -> EtkPublication:
        """Registration step 2: the challenge is consumed in a unit of work of its own, so
        a wrong answer spends it too; a right one publishes the ETK."""
        now = self.now()
        challenge = self._run_etk(lambda registrar: registrar.take(identity, challenge_id, now))
        return self._run_etk(lambda registrar: registrar.publish(identity, challenge, answer, now))

    def etk_lookup(self, identifiers: list[str]) -> list[EtkAnswer]:
        """GetEtk (``etkdepot.lookup``): read-only, two index probes per identifier."""
        queries = parse_queries(identifiers)
        now = self.now()
        with self.database.session() as session:
            registry = RegistryFacts(session)
            return look_up(StoredEtkIndex(session), queries, now, registry.ssin_for_nihii)

    # -- reads -------------------------------------------------------------------------

    def certificate(self, serial_hex: str) -> CertificateFacts:
        with self.database.session() as session:
            record = CertificateReader(session).by_serial(serial_hex.lower())
        if record is None:
            raise EhcertError(
                ErrorKind.NOT_FOUND, f"No certificate with serial {serial_hex} was issued here."
            )
        return facts_from_record(record)

    def ca_certificate(self, name: str) -> x509.Certificate:
        pairs = self._named_cas()
        pair = pairs.get(name)
        if pair is None:
            raise EhcertError(ErrorKind.NOT_FOUND, f"No CA certificate named {name}.")
        return pair.certificate

    def _named_cas(self) -> dict[str, CaPair | CaCertificate]:
        env = self.settings.environment
        pairs: dict[str, CaPair | CaCertificate] = {
            f"{env}-root": self.hierarchy.root,
            f"{env}-issuing": self.hierarchy.issuing,
        }
        if self.hierarchy.eid_root is not None and self.hierarchy.eid_ca is not None:
            pairs[f"{env}-eid-root"] = self.hierarchy.eid_root
            pairs[f"{env}-eid-ca"] = self.hierarchy.eid_ca
        return pairs

    # -- revocation status (``platform.revocation``) --------------------------------------

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


class _RaGateway:
    """The RA's operations, each in its own unit of work."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    def request(
        self,
        identity: Identity,
        csr: bytes,
        institution: str | None,
        app: str | None,
        now: dt.datetime,
    ) -> CertificateFacts:
        return self._platform._run_ra(lambda ra: ra.request(identity, csr, institution, app, now))

    def renew(
        self, identity: Identity, csr: bytes, serial: str, now: dt.datetime
    ) -> CertificateFacts:
        return self._platform._run_ra(lambda ra: ra.renew(identity, csr, serial, now))

    def revoke(
        self, identity: Identity, serial: str, reason: str, now: dt.datetime
    ) -> CertificateFacts:
        return self._platform._run_ra(lambda ra: ra.revoke(identity, serial, reason, now))

    def renewal_check(
        self, identity: Identity, serial: str, now: dt.datetime
    ) -> tuple[CertificateFacts, EhcertError | None]:
        return self._platform._run_ra(lambda ra: ra.renewal_check(identity, serial, now))

    def revocable(self, identity: Identity, now: dt.datetime) -> list[CertificateFacts]:
        return self._platform._run_ra(lambda ra: ra.revocable(identity, now))

    def application_ids(self, identity: Identity, holder: str, now: dt.datetime) -> list[str]:
        return self._platform._run_ra(lambda ra: ra.application_ids(identity, holder, now))

    def qualities(self, identity: Identity, now: dt.datetime) -> dict[str, object]:
        return self._platform._run_ra(lambda ra: ra.qualities(identity, now))


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
