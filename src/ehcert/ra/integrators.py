"""The integrators' RA path: integrator certificates, and test certificates without an eID.

A software integrator of the acceptance environment (``registry.integrators``) has its
own path through the RA, with its own authentication method, audited as such:

- **enrolment** (:meth:`IntegratorPath.enrol`): the integrator trades the one-time
  enrolment secret the operator gave it (``ehcert admin integrator add``) and a CSR
  for its **integrator certificate**, an authentication certificate of this platform's
  issuing CA for the holder ``CBE=<its number>,INTEGRATOR``. The secret is spent in
  the same transaction that records the certificate, so it serves exactly once; a new
  enrolment (a lost key) needs a new secret, and the certificate it gives replaces the
  old one, which is revoked (``superseded``, RFC 5280 section 5.3.1) in that same
  transaction: a lost integrator key stops working the moment its successor exists;
- the **integrator method** (:meth:`IntegratorPath.authenticate`): a request signed
  with the key of a current certificate of this platform (``api.authentication``,
  method ``certificate``) whose serial is the integrator's current integrator
  certificate becomes the identity ``integrator`` (``core.identity``); any other
  certificate is refused (``unauthorized``);
- **test certificates** (:meth:`IntegratorPath.request_test_certificate`): the
  integrator asks, instead of an eID holder, for a certificate of one of its own test
  identities (``registry.test_identities``): a test person (SSIN of the reserved
  block) or a test institution, the latter for a test person of the integrator who
  holds an active test mandate for it (the mandate rule of ``ra.service``, kept). The
  test person must be ``validated`` and the institution attested, as on the eID path.
  The certificate is an ordinary one of this environment: its holder renews, revokes,
  registers its ETK, gets STS tokens and uses the eHealthBox exactly like anyone else.

None of it exists in production: there are no integrators (``registry.integrators``),
and the routes are not served at all (``api.integrators``). Every issuance and each
refusal go to the audit log under the integrator (``integrator:CBE=...``).
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder, InstitutionId, validate_application_id
from ehcert.core.identity import Identity
from ehcert.core.names import institution_subject, person_subject
from ehcert.pki.csr import check_csr
from ehcert.pki.public_keys import PublicKey
from ehcert.ra.adapters import Ledger, LedgerIssuer, LedgerRevoker
from ehcert.ra.ports import AuthenticationSigner, CertificateFacts, IssueOrder
from ehcert.registry.adapter import RegistryFacts
from ehcert.registry.integrators import parse_cbe, require_acceptance, secret_sha256
from ehcert.registry.test_identities import check_owns_institution, check_owns_person
from ehcert.registry.validation import parse_institution, parse_ssin
from ehcert.store.integrators import IntegratorRepository
from ehcert.store.test_data import IntegratorTestData
from ehcert.store.unit_of_work import Transactions

T = TypeVar("T")
INTEGRATOR_APPLICATION_ID = "INTEGRATOR"
_REFUSED_ENROLMENT = (
    "The enrolment secret of integrator CBE {cbe} is wrong, spent or expired; ask the "
    "platform's operator for a new one (ehcert admin integrator secret)."
)


class IntegratorPath:
    """The integrators' operations (module docstring); one audited unit of work each."""

    def __init__(
        self, transactions: Transactions, signer: AuthenticationSigner, environment: str
    ) -> None:
        self._transactions = transactions
        self._signer = signer
        self._environment = environment

    def _run(
        self,
        action: str,
        actor: str,
        subject: str,
        now: dt.datetime,
        work: Callable[[Session, AuditSink], T],
    ) -> T:
        def unit(session: Session, audit: AuditSink) -> T:
            try:
                require_acceptance(self._environment)
                return work(session, audit)
            except EhcertError as error:
                audit.record(REFUSED, actor, subject, refusal_detail(action, error), now)
                raise

        return self._transactions.audited(unit)

    # -- the integrator certificate ----------------------------------------------------

    def enrol(self, cbe: str, secret: str, csr_der: bytes, now: dt.datetime) -> CertificateFacts:
        """The integrator certificate, for the one-time enrolment secret and a CSR."""
        number = parse_cbe(cbe)
        actor = f"integrator-enrolment:CBE={number}"

        def work(session: Session, audit: AuditSink) -> CertificateFacts:
            integrators = IntegratorRepository(session)
            integrator = integrators.by_cbe(number)
            kept = integrators.enrolment_secret_sha256(number)
            offered = secret_sha256(secret)
            if (
                integrator is None
                or kept is None
                or integrator.enrolment_expires_at is None
                or now >= integrator.enrolment_expires_at
                or not hmac.compare_digest(kept, offered)
            ):
                raise EhcertError(
                    ErrorKind.UNAUTHORIZED, _REFUSED_ENROLMENT.format(cbe=number), field="secret"
                )
            holder = Holder("CBE", number, INTEGRATOR_APPLICATION_ID)
            order = IssueOrder(
                institution_subject(holder, integrator.name), check_csr(csr_der), holder, None
            )
            issued = LedgerIssuer(self._signer, session, self._environment).issue(order, now)
            if not integrators.spend_enrolment_secret(number, offered, issued.serial_hex, now):
                raise EhcertError(
                    ErrorKind.UNAUTHORIZED, _REFUSED_ENROLMENT.format(cbe=number), field="secret"
                )
            replaced = integrator.certificate_serial
            previous = Ledger(session).get(replaced) if replaced is not None else None
            if previous is not None and previous.status == "valid":
                LedgerRevoker(session).revoke(previous.serial_hex, "superseded", now, actor)
            audit.record(
                "issued",
                actor,
                str(holder),
                {
                    "serial": issued.serial_hex,
                    "not_after": issued.not_after.isoformat(),
                    "method": "integrator-enrolment",
                    "replaces": integrator.certificate_serial,
                },
                now,
            )
            return issued

        return self._run("integrator enrolment", actor, f"CBE={number}", now, work)

    # -- the integrator method ---------------------------------------------------------

    def authenticate(self, signed_by: Identity) -> Identity:
        """The integrator behind a request signed with its integrator certificate."""
        require_acceptance(self._environment)
        serial = signed_by.certificate_serial
        integrator = None
        if signed_by.method == "certificate" and serial is not None:
            with self._transactions.session() as session:
                integrator = IntegratorRepository(session).by_certificate_serial(serial)
        if integrator is None:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                "Integrator calls are signed with the integrator certificate of a "
                "registered integrator (ehcert integrator enrol); this signature is not.",
            )
        return Identity(
            "integrator",
            None,
            integrator.name,
            certificate_serial=serial,
            holder=signed_by.holder,
            integrator=integrator.cbe,
        )

    # -- test certificates -------------------------------------------------------------

    def request_test_certificate(
        self,
        identity: Identity,
        csr_der: bytes,
        *,
        ssin: str | None,
        institution: str | None,
        application_id: str | None,
        mandate_holder: str | None,
        now: dt.datetime,
    ) -> CertificateFacts:
        """A certificate for a test identity of ``identity``'s integrator (module docstring)."""
        subject = f"SSIN={ssin}" if ssin else str(institution)[:80]

        def work(session: Session, audit: AuditSink) -> CertificateFacts:
            if identity.method != "integrator" or identity.integrator is None:
                raise EhcertError(
                    ErrorKind.UNAUTHORIZED,
                    "Test certificates are requested with an integrator certificate.",
                )
            owner = identity.integrator
            data = IntegratorTestData(session)
            registry = RegistryFacts(session)
            order = _test_order(
                data,
                registry,
                owner,
                check_csr(csr_der),
                _test_holder(ssin, institution, application_id),
                mandate_holder=mandate_holder,
                now=now,
            )
            certified = Ledger(session).certifying(order.public_key)
            if certified is not None:
                return _requested_already(certified, order)
            issued = LedgerIssuer(self._signer, session, self._environment).issue(order, now)
            audit.record(
                "issued",
                identity.actor,
                str(order.holder),
                {
                    "serial": issued.serial_hex,
                    "not_after": issued.not_after.isoformat(),
                    "method": "integrator",
                    "test_data_of": owner,
                },
                now,
            )
            return issued

        return self._run("test certificate request", identity.actor, subject, now, work)


def _test_holder(ssin: str | None, institution: str | None, application_id: str | None) -> Holder:
    if (ssin is None) == (institution is None):
        raise EhcertError(
            ErrorKind.MALFORMED,
            "Name either the test person (ssin) or the test institution (institution).",
            field="ssin",
        )
    if ssin is not None:
        if application_id is not None:
            raise EhcertError(
                ErrorKind.MALFORMED,
                "A certificate for a person has no application id.",
                field="application_id",
            )
        return Holder("SSIN", parse_ssin(ssin))
    found = parse_institution(institution or "")
    app = None
    if application_id is not None:
        try:
            app = validate_application_id(application_id)
        except ValueError as error:
            raise EhcertError(ErrorKind.MALFORMED, f"{error}.", field="application_id") from None
    return Holder(found.type, found.value, app)


def _test_order(
    data: IntegratorTestData,
    registry: RegistryFacts,
    owner: str,
    public_key: PublicKey,
    holder: Holder,
    *,
    mandate_holder: str | None,
    now: dt.datetime,
) -> IssueOrder:
    if holder.is_person:
        check_owns_person(data, owner, holder.value)
        provider = registry.provider(holder.value)
        if provider is None or provider.status != "validated":
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                f"The test person SSIN {holder.value} is not a validated care provider.",
                field="ssin",
            )
        subject = person_subject(holder.value, provider.first_name, provider.last_name)
        return IssueOrder(subject, public_key, holder, holder.value)
    institution = InstitutionId(holder.type, holder.value)
    check_owns_institution(data, owner, institution)
    if mandate_holder is None:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"An institution's certificate is requested for its mandated certificate holder: "
            f"name the test person who holds the test mandate for {institution}.",
            field="mandate_holder",
        )
    holder_ssin = parse_ssin(mandate_holder, "mandate_holder")
    check_owns_person(data, owner, holder_ssin, field="mandate_holder")
    if not registry.mandate_active(institution, holder_ssin, now):
        raise EhcertError(
            ErrorKind.NO_MANDATE,
            f"SSIN {holder_ssin} holds no active mandate as certificate holder for "
            f"{institution}; add a test mandate first.",
            field="mandate_holder",
        )
    facts = registry.institution(institution)
    assert facts is not None  # owned, so registered
    subject = institution_subject(holder, facts.name)
    return IssueOrder(subject, public_key, holder, holder_ssin)


def _requested_already(certified: CertificateFacts, order: IssueOrder) -> CertificateFacts:
    """The same request asked again (same key, same holder) gets its certificate back, so
    a client killed before its keystore was written completes by repeating it
    (``ra.service``); any other reuse of a key is refused."""
    if certified.holder == order.holder and certified.status == "valid":
        return certified
    raise EhcertError(
        ErrorKind.CONFLICT,
        "This public key is already certified; every certificate needs a new key.",
        field="public_key",
    )
