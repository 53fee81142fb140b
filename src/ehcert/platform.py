"""The composition root: settings in, a running platform out.

This is the one place that knows every context. It opens the database and the CA
hierarchy, and binds the RA's narrow ports (``ra.ports``) to the store's repositories
within one unit of work per request: issuance, the ledger row and the audit record
commit together or not at all. Refusals are audited after the request's transaction
rolls back, in a transaction of their own, so no refusal is lost with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from sqlalchemy.orm import Session

from ehcert.ca.authority import CertificateAuthority, OcspStatus, RevokedEntry
from ehcert.ca.hierarchy import (
    CaPair,
    Hierarchy,
    KeyBackend,
    PublicUrls,
    create_hierarchy,
    hierarchy_directory,
    is_initialised,
    load_hierarchy,
)
from ehcert.core.clock import Clock, SystemClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder
from ehcert.etkdepot.lookup import EtkAnswer, ServedEtk, look_up, parse_queries
from ehcert.pki.jws import verify_jws
from ehcert.pki.pathval import RevocationStatus
from ehcert.ra.authentication import (
    Authenticators,
    CertificateAuthenticator,
    EidAuthenticator,
    Identity,
    KnownCertificate,
)
from ehcert.ra.etk_registration import EtkRegistrar, IssuedChallenge, encryption_key_sha256
from ehcert.ra.ports import CertificateFacts, EtkChallengeFacts, EtkPublication, IssueOrder
from ehcert.ra.service import RegistrationAuthority
from ehcert.registry.adapter import RegistryFacts
from ehcert.settings import Settings
from ehcert.store.audit import AuditLog
from ehcert.store.certificates import (
    CertificateReader,
    CertificateRecord,
    CertificateRepository,
    NewCertificate,
)
from ehcert.store.crl_numbers import CrlNumbers
from ehcert.store.db import Database
from ehcert.store.eid import EidRepository
from ehcert.store.etks import EtkChallengeRepository, EtkReader, EtkRecord, EtkRepository, NewEtk
from ehcert.store.nonces import NonceRepository
from ehcert.store.ocsp_cache import OcspCache

T = TypeVar("T")
SERIAL_ATTEMPTS = 3


def facts_from_record(record: CertificateRecord) -> CertificateFacts:
    return CertificateFacts(
        serial_hex=record.serial_hex,
        holder=Holder(record.holder_type, record.holder_value, record.application_id),
        subject=record.subject_dn,
        not_before=record.not_before,
        not_after=record.not_after,
        status=record.status,
        revoked_at=record.revoked_at,
        revocation_reason=record.revocation_reason,
        requested_by_ssin=record.requested_by_ssin,
        der=record.der,
    )


def public_key_sha256(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


class Ledger:
    def __init__(self, session: Session) -> None:
        self._reader = CertificateReader(session)

    def get(self, serial_hex: str) -> CertificateFacts | None:
        record = self._reader.by_serial(serial_hex)
        return facts_from_record(record) if record else None

    def for_holder(self, holder_type: str, holder_value: str) -> list[CertificateFacts]:
        found: list[CertificateFacts] = []
        for application_id in self._reader.application_ids_for(holder_type, holder_value):
            found += [
                facts_from_record(r)
                for r in self._reader.for_holder(holder_type, holder_value, application_id)
                if r.usage == "authentication"
            ]
        return found


class _Issuer:
    """Signs with the CA and records in the ledger in the caller's transaction.

    A serial collision (2**-128 odds, but the database is the judge) is retried with a
    fresh serial; the discarded certificate is never returned or published.
    """

    def __init__(self, ca: CertificateAuthority, session: Session, environment: str) -> None:
        self._ca = ca
        self._repository = CertificateRepository(session)
        self._environment = environment

    def issue(self, order: IssueOrder, now: dt.datetime) -> CertificateFacts:
        from ehcert.pki.profiles import random_serial

        for attempt in range(SERIAL_ATTEMPTS):
            serial = random_serial()
            serial_hex = format(serial, "x")
            if attempt < SERIAL_ATTEMPTS - 1 and self._repository.by_serial(serial_hex):
                continue
            certificate = self._ca.sign_authentication(order.subject, order.public_key, serial, now)
            record = self._repository.add(
                NewCertificate(
                    serial_hex=serial_hex,
                    environment=self._environment,
                    usage="authentication",
                    holder_type=order.holder.type,
                    holder_value=order.holder.value,
                    application_id=order.holder.application_id,
                    subject_dn=certificate.subject.rfc4514_string(),
                    not_before=certificate.not_valid_before_utc,
                    not_after=certificate.not_valid_after_utc,
                    der=certificate.public_bytes(serialization.Encoding.DER),
                    public_key_sha256=public_key_sha256(certificate),
                    requested_by_ssin=order.requested_by_ssin,
                    predecessor_serial_hex=order.predecessor_serial_hex,
                    created_at=now,
                )
            )
            return facts_from_record(record)
        raise EhcertError(ErrorKind.INTERNAL, "Could not draw a unique serial number.")


class _Revoker:
    def __init__(self, session: Session) -> None:
        self._repository = CertificateRepository(session)

    def revoke(self, serial_hex: str, reason: str, at: dt.datetime, by: str) -> CertificateFacts:
        return facts_from_record(self._repository.revoke(serial_hex, reason, at, by))


class _Audit:
    """Successes join the request's transaction; refusals wait for their own (see module)."""

    def __init__(self, session: Session) -> None:
        self._log = AuditLog(session)
        self.refusals: list[tuple[str, str, str, dict[str, object], dt.datetime]] = []

    def record(
        self, action: str, actor: str, subject: str, detail: dict[str, object], at: dt.datetime
    ) -> None:
        if action == "refused":
            self.refusals.append((action, actor, subject, detail, at))
            return
        self._log.append(at, action, actor[:200], subject[:200], _json_safe(detail))


def _json_safe(detail: dict[str, object]) -> dict[str, Any]:
    return json.loads(json.dumps(detail, default=str))  # type: ignore[no-any-return]


class _EtkChallengeStore:
    """``ra.ports.EtkChallenges`` over the store, in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self._repository = EtkChallengeRepository(session)

    def create(
        self,
        challenge_id: str,
        *,
        authentication_serial: str,
        encryption_der: bytes,
        answer_sha256: str,
        now: dt.datetime,
        ttl: dt.timedelta,
    ) -> dt.datetime:
        return self._repository.create(
            challenge_id,
            authentication_serial=authentication_serial,
            encryption_der=encryption_der,
            answer_sha256=answer_sha256,
            now=now,
            ttl=ttl,
        )

    def get(self, challenge_id: str) -> EtkChallengeFacts | None:
        record = self._repository.get(challenge_id)
        if record is None:
            return None
        return EtkChallengeFacts(
            record.id,
            record.authentication_serial,
            record.encryption_der,
            record.answer_sha256,
            record.expires_at,
        )

    def consume(self, challenge_id: str, now: dt.datetime) -> EtkChallengeFacts | None:
        return self.get(challenge_id) if self._repository.consume(challenge_id, now) else None


class _EtkPublisher:
    def __init__(self, session: Session) -> None:
        self._repository = EtkRepository(session)

    def publish(self, publication: EtkPublication) -> None:
        certificate = publication.encryption_certificate
        self._repository.publish(
            NewEtk(
                holder_type=publication.holder.type,
                holder_value=publication.holder.value,
                application_id=publication.holder.application_id,
                encryption_serial=str(certificate.serial_number),
                encryption_key_sha256=encryption_key_sha256(certificate),
                encryption_certificate_sha256=hashlib.sha256(
                    certificate.public_bytes(serialization.Encoding.DER)
                ).hexdigest(),
                authentication_serial=publication.authentication_serial,
                subject_dn=certificate.subject.rfc4514_string(),
                der=publication.der,
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                published_at=publication.published_at,
            )
        )


def _served(record: EtkRecord) -> ServedEtk:
    holder = Holder(record.holder_type, record.holder_value, record.application_id)
    return ServedEtk(
        der=record.der,
        holder=str(holder),
        encryption_serial=record.encryption_serial,
        authentication_serial=record.authentication_serial,
        subject=record.subject_dn,
        not_before=record.not_before,
        not_after=record.not_after,
        published_at=record.published_at,
        encryption_certificate_sha256=record.encryption_certificate_sha256,
    )


class _EtkIndex:
    """``etkdepot.lookup.EtkIndex`` over the store's read-only ETK queries."""

    def __init__(self, session: Session) -> None:
        self._reader = EtkReader(session)

    def served(
        self, holder_type: str, holder_value: str, application_id: str | None, now: dt.datetime
    ) -> list[ServedEtk]:
        return [
            _served(r) for r in self._reader.served(holder_type, holder_value, application_id, now)
        ]

    def served_application_ids(
        self, holder_type: str, holder_value: str, now: dt.datetime
    ) -> list[str]:
        return self._reader.served_application_ids(holder_type, holder_value, now)


@dataclass
class _CachedCrl:
    der: bytes
    fingerprint: tuple[int, str]
    refresh_after: dt.datetime


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
        self._crl_cache: dict[str, _CachedCrl] = {}
        self._crl_lock = threading.Lock()

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
        """Open (and on first run initialise) the data directory of ``settings``."""
        clock = clock or SystemClock()
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        database = Database(settings.database_url)
        database.migrate()
        backend = key_backend(settings)
        urls = PublicUrls(settings.base_url, settings.environment)
        if is_initialised(settings.data_dir, settings.environment):
            hierarchy = load_hierarchy(backend, settings.environment, clock.now(), urls)
        elif initialise:
            hierarchy = create_hierarchy(
                backend, settings.environment, urls, clock.now(), progress=progress
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
                    _Issuer(self.ca, session, self.settings.environment),
                    _Revoker(session),
                    audit,
                )
            )
        )

    def _run_etk(self, operation: Callable[[EtkRegistrar], T]) -> T:
        return self._audited(
            lambda session, audit: operation(
                EtkRegistrar(
                    Ledger(session),
                    _EtkChallengeStore(session),
                    _EtkPublisher(session),
                    self.ca,
                    audit,
                )
            )
        )

    def _audited(self, operation: Callable[[Session, _Audit], T]) -> T:
        """One unit of work; refusals are audited afterwards in their own (module doc)."""
        audit: _Audit | None = None
        try:
            with self.database.session() as session:
                audit = _Audit(session)
                return operation(session, audit)
        finally:
            if audit is not None and audit.refusals:
                with self.database.session() as session:
                    log = AuditLog(session)
                    for action, actor, subject, detail, at in audit.refusals:
                        log.append(at, action, actor[:200], subject[:200], _json_safe(detail))

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
            return look_up(_EtkIndex(session), queries, now, registry.ssin_for_nihii)

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

    def _named_cas(self) -> dict[str, CaPair]:
        env = self.settings.environment
        pairs = {f"{env}-root": self.hierarchy.root, f"{env}-issuing": self.hierarchy.issuing}
        if self.hierarchy.eid_root is not None and self.hierarchy.eid_ca is not None:
            pairs[f"{env}-eid-root"] = self.hierarchy.eid_root
            pairs[f"{env}-eid-ca"] = self.hierarchy.eid_ca
        return pairs

    # -- CRLs --------------------------------------------------------------------------

    def crl(self, name: str, *, force: bool = False) -> bytes:
        """The current CRL named ``<env>``, ``<env>-root``, ``<env>-eid``, ``<env>-eid-root``.

        A CRL is re-signed when its revoked set changes (so a revocation shows at once)
        or halfway through its validity, and otherwise served from memory.
        """
        env = self.settings.environment
        issuers: dict[str, CaPair | None] = {
            env: self.hierarchy.issuing,
            f"{env}-root": self.hierarchy.root,
            f"{env}-eid": self.hierarchy.eid_ca,
            f"{env}-eid-root": self.hierarchy.eid_root,
        }
        issuer = issuers.get(name)
        if issuer is None:
            raise EhcertError(ErrorKind.NOT_FOUND, f"No CRL named {name}.")
        now = self.now()
        with self._crl_lock, self.database.session() as session:
            entries = self._revoked_entries(session, name, now)
            fingerprint = (
                len(entries),
                max((e.revoked_at.isoformat() for e in entries), default=""),
            )
            cached = self._crl_cache.get(name)
            if (
                cached
                and not force
                and cached.fingerprint == fingerprint
                and now < cached.refresh_after
            ):
                return cached.der
            number = CrlNumbers(session).next(env)
            crl = self.ca.sign_crl(issuer, entries, number, now)
            der = crl.public_bytes(serialization.Encoding.DER)
            self._crl_cache[name] = _CachedCrl(der, fingerprint, now + self.ca.crl_validity / 2)
            return der

    def _revoked_entries(self, session: Session, name: str, now: dt.datetime) -> list[RevokedEntry]:
        env = self.settings.environment
        if name == env:
            return [
                RevokedEntry(e.serial_hex, e.revoked_at, e.reason)
                for e in CertificateReader(session).revoked(env)
            ]
        if name == f"{env}-eid":
            return [
                RevokedEntry(c.serial_hex, c.revoked_at, c.revocation_reason or "unspecified")
                for c in EidRepository(session).revoked()
                if c.revoked_at is not None
            ]
        return []  # the roots have revoked no CA

    # -- OCSP (RFC 6960) ---------------------------------------------------------------

    def ocsp(self, request_der: bytes) -> bytes:
        try:
            request = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return _ocsp_error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if not self.ca.matches_issuer(request):
            return _ocsp_error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        serial_hex = format(request.serial_number, "x")
        has_nonce = any(isinstance(e.value, x509.OCSPNonce) for e in request.extensions)
        now = self.now()
        with self.database.session() as session:
            cache = OcspCache(session)
            if not has_nonce:
                cached = cache.get(serial_hex, now)
                if cached is not None and now < cached.produced_at + self.ca.ocsp_validity / 2:
                    return cached.der
            record = CertificateReader(session).by_serial(serial_hex)
            certificate = x509.load_der_x509_certificate(record.der) if record else None
            status = OcspStatus(
                known=record is not None,
                revoked_at=record.revoked_at if record else None,
                reason=record.revocation_reason if record else None,
            )
            response = self.ca.ocsp_response(request, certificate, status, now)
            der = response.public_bytes(serialization.Encoding.DER)
            if record is not None and not has_nonce:
                cache.put(serial_hex, der, now, now + self.ca.ocsp_validity)
            return der


def _ocsp_error(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )


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


def key_backend(settings: Settings) -> KeyBackend:
    directory = hierarchy_directory(settings.data_dir, settings.environment)
    passphrase_file = settings.data_dir / "secrets" / f"{settings.environment}-ca-passphrase"
    if settings.pkcs11_module:
        if not settings.pkcs11_token_label or not settings.pkcs11_pin_file:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "PKCS#11 CA keys need pkcs11_token_label and pkcs11_pin_file as well.",
                field="pkcs11_module",
            )
        pin = Path(settings.pkcs11_pin_file).read_text(encoding="utf-8").strip()
        return KeyBackend(
            directory,
            passphrase_file,
            pkcs11_module=settings.pkcs11_module,
            token_label=settings.pkcs11_token_label,
            pin=pin,
        )
    return KeyBackend(directory, passphrase_file)
