"""The registration authority: may this identity get, renew or revoke this certificate?

Rules (eHealth certificate policy, as the issue tracker states them):

- A care provider requests for themself, proven by eID, while the registry lists them as
  *validated*; a *pending* or *withdrawn* provider is refused at once. An active officer
  of a registration office may get a personal certificate the same way: it is what
  the office's calls are signed with (``ra.registration_office``).
- The hybrid method: a person without a Belgian eID proves who they are with the
  digital key a registration office issued (``ra.digital_key``), for their own
  certificate only, never an institution's. A certificate obtained with a digital key
  names it, and renewing it with the certificate stops once the office revoked the key.
- For an institution, only a person holding an active mandate for it, proven by eID,
  may request, renew or revoke, and only while the institution's attestations (minimum
  security norms, data-sharing authorisation) are recorded.
- Renewal: from 90 days before expiry until expiry, with a new key, authenticated with
  the current certificate (persons) or the mandate holder's eID (institutions).
- Revocation: by the holder (the certificate itself, or the person's eID when the
  keystore is lost), by a mandate holder for an institution, by an administrator.

Every decision, including each refusal with its reason, goes to the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Holder, InstitutionId, validate_application_id
from ehcert.core.identity import Identity
from ehcert.core.names import institution_subject, person_subject
from ehcert.core.policy import check_renewal_window
from ehcert.core.revocation import check_revocation_reason
from ehcert.pki.csr import check_csr
from ehcert.ra.digital_key import check_digital_key_live, digital_key_for_institution
from ehcert.ra.ports import (
    CertificateFacts,
    CertificateLedger,
    DigitalKeyRevocations,
    IssueOrder,
    Issuer,
    Revoker,
)
from ehcert.registry.facts import RegistryReader

T = TypeVar("T")


class RegistrationAuthority:
    def __init__(
        self,
        registry: RegistryReader,
        ledger: CertificateLedger,
        issuer: Issuer,
        revoker: Revoker,
        audit: AuditSink,
        *,
        digital_keys: DigitalKeyRevocations,
    ) -> None:
        self._registry = registry
        self._ledger = ledger
        self._issuer = issuer
        self._revoker = revoker
        self._audit = audit
        self._digital_keys = digital_keys

    # -- audit wrapper -----------------------------------------------------------------

    def _decide(
        self,
        action: str,
        identity: Identity,
        subject: str,
        now: dt.datetime,
        decision: Callable[[], T],
    ) -> T:
        try:
            return decision()
        except EhcertError as error:
            self._audit.record(REFUSED, identity.actor, subject, refusal_detail(action, error), now)
            raise

    # -- eligibility -------------------------------------------------------------------

    def _eligible_person(self, ssin: str) -> tuple[str, str]:
        provider = self._registry.provider(ssin)
        if provider is None:
            officer = self._registry.officer(ssin)
            if officer is not None and officer.active:
                return officer.first_name, officer.last_name
            raise EhcertError(
                ErrorKind.NOT_IN_REGISTRY,
                f"SSIN {ssin} is not in the registry of care providers.",
            )
        if provider.status == "withdrawn":
            raise EhcertError(
                ErrorKind.WITHDRAWN,
                f"SSIN {ssin} has been withdrawn from the registry of care providers.",
            )
        if provider.status != "validated":
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                f"The registration of SSIN {ssin} is {provider.status}, not yet validated.",
            )
        return provider.first_name, provider.last_name

    def _eligible_institution(
        self, institution: InstitutionId, ssin: str | None, now: dt.datetime
    ) -> str:
        facts = self._registry.institution(institution)
        if facts is None:
            raise EhcertError(
                ErrorKind.NOT_IN_REGISTRY, f"{institution} is not in the registry of institutions."
            )
        self._check_mandate(institution, ssin, now)
        if facts.security_norms_date is None or facts.security_norms_date > now.date():
            raise EhcertError(
                ErrorKind.ATTESTATION_MISSING,
                f"{institution} has no attestation of the minimum security norms.",
            )
        if not facts.data_sharing_authorisation:
            raise EhcertError(
                ErrorKind.ATTESTATION_MISSING,
                f"{institution} has no data-sharing authorisation on record.",
            )
        return facts.name

    def _holder_for_request(
        self, identity: Identity, institution: str | None, application_id: str | None
    ) -> Holder:
        try:
            if institution is None:
                if application_id is not None:
                    raise ValueError("an application id is only for institution certificates")
                return Holder("SSIN", identity.ssin or "")
            parsed = InstitutionId.parse(institution)
            app = validate_application_id(application_id) if application_id else None
            return Holder(parsed.type, parsed.value, app)
        except ValueError as error:
            field = "application_id" if "application" in str(error) else "institution"
            raise EhcertError(ErrorKind.MALFORMED, f"{error}.", field=field) from error

    def _order(
        self,
        holder: Holder,
        identity: Identity,
        csr_der: bytes,
        now: dt.datetime,
        *,
        predecessor: str | None = None,
        digital_key: str | None = None,
    ) -> IssueOrder:
        if holder.is_person:
            first, last = self._eligible_person(holder.value)
            subject = person_subject(holder.value, first, last)
        else:
            name = self._eligible_institution(
                InstitutionId(holder.type, holder.value), identity.ssin, now
            )
            subject = institution_subject(holder, name)
        public_key = check_csr(csr_der)
        return IssueOrder(subject, public_key, holder, identity.ssin, predecessor, digital_key)

    # -- request -----------------------------------------------------------------------

    def request(
        self,
        identity: Identity,
        csr_der: bytes,
        institution: str | None,
        application_id: str | None,
        now: dt.datetime,
    ) -> CertificateFacts:
        """A first certificate, for the eID holder themself or for an institution."""

        def decide() -> CertificateFacts:
            if identity.method not in ("eid", "digital-key"):
                raise EhcertError(
                    ErrorKind.UNAUTHORIZED,
                    "A new certificate must be requested with an eID signature or a digital key.",
                )
            if identity.method == "digital-key" and institution is not None:
                raise digital_key_for_institution()
            holder = self._holder_for_request(identity, institution, application_id)
            order = self._order(holder, identity, csr_der, now, digital_key=identity.digital_key)
            certified = self._ledger.certifying(order.public_key)
            if certified is not None:
                return self._requested_already(identity, holder, certified)
            issued = self._issuer.issue(order, now)
            self._audit.record(
                "issued",
                identity.actor,
                str(holder),
                {
                    "serial": issued.serial_hex,
                    "not_after": issued.not_after.isoformat(),
                    "method": identity.method,
                },
                now,
            )
            return issued

        subject = institution or f"SSIN={identity.ssin}"
        return self._decide("request", identity, subject, now, decide)

    def _requested_already(
        self, identity: Identity, holder: Holder, certified: CertificateFacts
    ) -> CertificateFacts:
        """Every certificate needs a new key; but the same request asked again (same
        key, proven by the CSR; same requester; same holder) gets its certificate back,
        so a client killed before its keystore was written completes the request by
        repeating it. Nothing new is signed or audited."""
        if (
            certified.holder == holder
            and certified.requested_by_ssin == identity.ssin
            and certified.status == "valid"
        ):
            return certified
        raise EhcertError(
            ErrorKind.CONFLICT,
            "This public key is already certified; every certificate needs a new key.",
            field="public_key",
        )

    # -- renewal -----------------------------------------------------------------------

    def _current(self, serial_hex: str) -> CertificateFacts:
        current = self._ledger.get(serial_hex.lower())
        if current is None:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"No certificate with serial {serial_hex} was issued here.",
                field="serial",
            )
        return current

    def _may_act_for(self, identity: Identity, current: CertificateFacts, now: dt.datetime) -> None:
        """Holder-level authority over ``current`` (renewal and revocation share it)."""
        holder = current.holder
        if identity.method == "admin":
            return
        if identity.method == "digital-key" and not holder.is_person:
            raise digital_key_for_institution()
        if identity.method == "certificate":
            if identity.certificate_serial == current.serial_hex:
                return
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                f"Certificate {identity.certificate_serial} may act only on itself, "
                f"not on certificate {current.serial_hex}.",
            )
        if holder.is_person:
            if identity.ssin == holder.value:
                return
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                f"Certificate {current.serial_hex} belongs to {holder}, not to SSIN "
                f"{identity.ssin}.",
            )
        self._check_mandate(InstitutionId(holder.type, holder.value), identity.ssin, now)

    def _check_mandate(
        self, institution: InstitutionId, ssin: str | None, now: dt.datetime
    ) -> None:
        """``ssin`` may act for ``institution``: an active mandate, and not withdrawn.

        A mandate holder need not be a care provider; but one the registry lists as
        withdrawn has lost every right the platform gives (README, policy decisions),
        acting for an institution included, even while the mandate is on record.
        """
        if ssin is None or not self._registry.mandate_active(institution, ssin, now):
            who = f"SSIN {ssin}" if ssin else "This requester"
            raise EhcertError(
                ErrorKind.NO_MANDATE,
                f"{who} holds no active mandate as certificate holder for {institution}.",
            )
        provider = self._registry.provider(ssin)
        if provider is not None and provider.status == "withdrawn":
            raise EhcertError(
                ErrorKind.WITHDRAWN,
                f"SSIN {ssin} has been withdrawn from the registry of care providers and "
                f"can no longer act for {institution}.",
            )

    def _check_renewable(
        self, identity: Identity, current: CertificateFacts, now: dt.datetime
    ) -> None:
        if current.status == "revoked":
            raise EhcertError(
                ErrorKind.REVOKED,
                f"Certificate {current.serial_hex} is revoked; make a new request with your eID.",
            )
        if not current.holder.is_person and identity.method == "certificate":
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                "Renewing an institution's certificate needs the eID signature of its "
                "mandated certificate holder.",
            )
        self._may_act_for(identity, current, now)
        check_digital_key_live(self._digital_keys, identity, current)
        check_renewal_window(current.not_after, now)

    def renew(
        self, identity: Identity, csr_der: bytes, serial_hex: str, now: dt.datetime
    ) -> CertificateFacts:
        """A new 36-month certificate with a new key, inside the renewal window."""

        def decide() -> CertificateFacts:
            current = self._current(serial_hex)
            successor = self._ledger.successor(current.serial_hex)
            if successor is not None:
                return self._renewed_already(identity, current, successor, csr_der, now)
            self._check_renewable(identity, current, now)
            key = identity.digital_key if identity.method == "digital-key" else None
            if identity.method == "certificate":
                key = current.digital_key
            order = self._order(
                current.holder,
                identity,
                csr_der,
                now,
                predecessor=current.serial_hex,
                digital_key=key,
            )
            if order.public_key.public_numbers() == _public_numbers(current.der):
                raise EhcertError(
                    ErrorKind.BAD_KEY,
                    "Renewal needs a new key pair; the CSR reuses the current key.",
                    field="csr",
                )
            issued = self._issuer.issue(order, now)
            self._audit.record(
                "renewed",
                identity.actor,
                str(current.holder),
                {
                    "serial": issued.serial_hex,
                    "predecessor": current.serial_hex,
                    "method": identity.method,
                },
                now,
            )
            return issued

        return self._decide("renew", identity, f"serial={serial_hex}", now, decide)

    def _renewed_already(
        self,
        identity: Identity,
        current: CertificateFacts,
        successor: CertificateFacts,
        csr_der: bytes,
        now: dt.datetime,
    ) -> CertificateFacts:
        """A certificate is renewed once. The same renewal asked again (the CSR of the
        successor's own key, so its holder proves possession of it) gets the successor
        back: a client whose answer was lost, killed before its keystore was written,
        completes the renewal by repeating it. Nothing new is signed or audited. Any
        other key is refused: the successor replaced this certificate."""
        self._may_act_for(identity, current, now)
        public_key = check_csr(csr_der)
        if public_key.public_numbers() == _public_numbers(successor.der):
            return successor
        raise EhcertError(
            ErrorKind.CONFLICT,
            f"Certificate {current.serial_hex} has already been renewed; renew its successor, "
            "or make a new request with your eID.",
            field="serial",
        )

    def renewal_check(
        self, identity: Identity, serial_hex: str, now: dt.datetime
    ) -> tuple[CertificateFacts, EhcertError | None]:
        """Would a renewal be accepted now (eHealth certra ``validateRenew``)?"""
        current = self._current(serial_hex)
        try:
            self._check_renewable(identity, current, now)
            if current.holder.is_person:
                self._eligible_person(current.holder.value)
            else:
                self._eligible_institution(
                    InstitutionId(current.holder.type, current.holder.value), identity.ssin, now
                )
        except EhcertError as refusal:
            return current, refusal
        return current, None

    # -- revocation --------------------------------------------------------------------

    def revoke(
        self, identity: Identity, serial_hex: str, reason: str, now: dt.datetime
    ) -> CertificateFacts:
        def decide() -> CertificateFacts:
            check_revocation_reason(reason)
            current = self._current(serial_hex)
            if current.status == "revoked":
                raise EhcertError(
                    ErrorKind.CONFLICT, f"Certificate {current.serial_hex} is already revoked."
                )
            self._may_act_for(identity, current, now)
            revoked = self._revoker.revoke(current.serial_hex, reason, now, identity.actor)
            self._audit.record(
                "revoked",
                identity.actor,
                str(current.holder),
                {"serial": current.serial_hex, "reason": reason},
                now,
            )
            return revoked

        return self._decide("revoke", identity, f"serial={serial_hex}", now, decide)

    # -- queries (eHealth certra) ------------------------------------------------------

    def revocable(self, identity: Identity, now: dt.datetime) -> list[CertificateFacts]:
        """Live certificates this identity may revoke (certra ``getRevocableCertificates``)."""
        found: list[CertificateFacts] = []
        if identity.method == "certificate" and identity.certificate_serial:
            current = self._ledger.get(identity.certificate_serial)
            return [current] if current and current.is_live(now) else []
        if identity.ssin:
            found += self._ledger.for_holder("SSIN", identity.ssin)
        if identity.ssin and identity.method != "digital-key":
            for institution in self._registry.mandated_institutions(identity.ssin, now):
                found += self._ledger.for_holder(institution.type, institution.value)
        return [facts for facts in found if facts.is_live(now)]

    def application_ids(self, identity: Identity, holder: str, now: dt.datetime) -> list[str]:
        """Application ids already used by an institution (certra ``getExistingApplicationIds``)."""
        try:
            institution = InstitutionId.parse(holder)
        except ValueError as error:
            raise EhcertError(ErrorKind.MALFORMED, f"{error}.", field="holder") from error
        if identity.method != "admin":
            self._check_mandate(institution, identity.ssin, now)
        ids = {
            facts.holder.application_id
            for facts in self._ledger.for_holder(institution.type, institution.value)
            if facts.holder.application_id
        }
        return sorted(ids)

    def qualities(self, identity: Identity, now: dt.datetime) -> dict[str, object]:
        """What the person may request for (certra ``getActorQualities``)."""
        if identity.ssin is None:
            raise EhcertError(ErrorKind.FORBIDDEN, "Qualities are defined for persons only.")
        as_self: dict[str, object]
        provider = self._registry.provider(identity.ssin)
        try:
            self._eligible_person(identity.ssin)
            as_self = {"allowed": True, "reason": None}
        except EhcertError as refusal:
            as_self = {"allowed": False, "reason": refusal.detail}
        as_self["profession"] = provider.profession if provider else None
        institutions = []
        for institution in self._registry.mandated_institutions(identity.ssin, now):
            facts = self._registry.institution(institution)
            try:
                self._eligible_institution(institution, identity.ssin, now)
                allowed, why = True, None
            except EhcertError as refusal:
                allowed, why = False, refusal.detail
            institutions.append(
                {
                    "holder": str(institution),
                    "name": facts.name if facts else None,
                    "allowed": allowed,
                    "reason": why,
                }
            )
        name = f"{provider.first_name} {provider.last_name}" if provider else identity.display_name
        return {
            "ssin": identity.ssin,
            "name": name,
            "as_self": as_self,
            "institutions": institutions,
        }


def _public_numbers(der: bytes) -> object:
    key = x509.load_der_x509_certificate(der).public_key()
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return key.public_numbers()
    return None
