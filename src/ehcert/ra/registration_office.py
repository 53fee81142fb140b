"""The registration office's decisions: record an identity check, issue or revoke a key.

Rules (the hybrid method, docs/foreign-providers.md):

- only an **active officer** of a registration office acts here, authenticated by the
  officer's own eHealth certificate of this platform (method ``certificate``); an eID
  signature, a digital key or an ended officer account is refused;
- the person is identified by a **BIS number** (``Ssin.is_bis``): a national register
  number means a Belgian eID exists, and the eID is the way for its holder;
- the person is in the registry of care providers and not withdrawn (the professional
  registration is the authentic source's, not the office's);
- the identity document is valid on the day of the check; what the officer saw is
  recorded in the registry (type, number, issuing country, expiry, officer, office,
  date) in the same transaction as the key it justifies;
- a person holds at most one live digital key; a username is never given twice;
- revoking a key stops every use of it at once: requests, renewals of the
  certificates it obtained, revocations (``ra.service``).

Every decision, and each refusal with its reason, goes to the audit log under the
officer's certificate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.documents import IdentityDocument
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import Ssin
from ehcert.core.identity import Identity
from ehcert.ra.digital_key import (
    StoredDigitalKey,
    check_username,
    hash_password,
    new_totp_secret,
    provisioning_uri,
)
from ehcert.registry.facts import OfficerFacts, RegistryReader


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A digital key just issued: what the office hands the person (the QR code carries
    ``provisioning_uri``, which holds the TOTP secret; it is shown once)."""

    username: str
    ssin: str
    provisioning_uri: str
    office_code: str
    issued_at: dt.datetime


class IdentityCheckRecorder(Protocol):
    """The registry's one write for the office (``registry.adapter.RegistryFacts``)."""

    def record_identity_check(
        self, ssin: str, document: IdentityDocument, officer: OfficerFacts, at: dt.datetime
    ) -> int: ...


class DigitalKeyIssuer(Protocol):
    """Creating and revoking keys (``ra.hybrid_method`` binds it to the store)."""

    def add(
        self,
        username: str,
        ssin: str,
        *,
        password_hash: str,
        totp_secret: str,
        identity_check_id: int,
        at: dt.datetime,
    ) -> None: ...

    def revoke(self, username: str, at: dt.datetime, by: str, reason: str) -> StoredDigitalKey: ...


class RegistrationOffice:
    def __init__(
        self,
        registry: RegistryReader,
        checks: IdentityCheckRecorder,
        keys: DigitalKeyIssuer,
        audit: AuditSink,
        issuer_name: str,
    ) -> None:
        self._registry = registry
        self._checks = checks
        self._keys = keys
        self._audit = audit
        self._issuer_name = issuer_name  # the account's issuer in authenticator apps

    def _officer(self, identity: Identity) -> OfficerFacts:
        if identity.method != "certificate" or identity.ssin is None:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                "A registration office acts with the officer's own eHealth certificate.",
            )
        officer = self._registry.officer(identity.ssin)
        if officer is None or not officer.active:
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                f"SSIN {identity.ssin} is not an active officer of a registration office.",
            )
        return officer

    def _refused(
        self, action: str, identity: Identity, subject: str, now: dt.datetime, error: EhcertError
    ) -> None:
        self._audit.record(REFUSED, identity.actor, subject, refusal_detail(action, error), now)

    def register(
        self,
        officer_identity: Identity,
        ssin: str,
        document: IdentityDocument,
        *,
        username: str,
        password: str,
        now: dt.datetime,
    ) -> Enrolment:
        """Record the identity check of ``ssin`` and issue its digital key."""
        try:
            officer = self._officer(officer_identity)
            person = _bis_number(ssin)
            document.check_valid_on(now.date())
            self._check_registered(person)
            check_username(username)
            password_hash = hash_password(password)
            check_id = self._checks.record_identity_check(person, document, officer, now)
            secret = new_totp_secret()
            self._keys.add(
                username,
                person,
                password_hash=password_hash,
                totp_secret=secret,
                identity_check_id=check_id,
                at=now,
            )
        except EhcertError as error:
            self._refused("office register", officer_identity, f"SSIN={ssin}", now, error)
            raise
        self._audit.record(
            "digital-key-issued",
            officer_identity.actor,
            f"SSIN={person}",
            {
                "username": username,
                "office": officer.office_code,
                "officer": officer.ssin,
                "document_type": document.document_type,
                "issuing_country": document.issuing_country,
                "identity_check": check_id,
            },
            now,
        )
        return Enrolment(
            username,
            person,
            provisioning_uri(secret, username, self._issuer_name),
            officer.office_code,
            now,
        )

    def _check_registered(self, ssin: str) -> None:
        provider = self._registry.provider(ssin)
        if provider is None:
            raise EhcertError(
                ErrorKind.NOT_IN_REGISTRY,
                f"SSIN {ssin} is not in the registry of care providers; the professional "
                "registration comes first.",
                field="ssin",
            )
        if provider.status == "withdrawn":
            raise EhcertError(
                ErrorKind.WITHDRAWN,
                f"SSIN {ssin} has been withdrawn from the registry of care providers.",
                field="ssin",
            )

    def revoke_key(
        self, officer_identity: Identity, username: str, reason: str, now: dt.datetime
    ) -> StoredDigitalKey:
        """Revoke a digital key: no request, renewal or revocation with it any more."""
        try:
            officer = self._officer(officer_identity)
            check_username(username)
            why = reason.strip()
            if not why or len(why) > 200:
                raise EhcertError(
                    ErrorKind.MALFORMED,
                    "The reason must be 1 to 200 characters.",
                    field="reason",
                )
            revoked = self._keys.revoke(username, now, officer_identity.actor, why)
        except EhcertError as error:
            subject = f"digital-key={username}"
            self._refused("office revoke-key", officer_identity, subject, now, error)
            raise
        self._audit.record(
            "digital-key-revoked",
            officer_identity.actor,
            f"SSIN={revoked.ssin}",
            {"username": username, "office": officer.office_code, "reason": why},
            now,
        )
        return revoked


def _bis_number(ssin: str) -> str:
    try:
        number = Ssin(ssin)
    except (TypeError, ValueError) as error:
        raise EhcertError(ErrorKind.MALFORMED, f"{error}.", field="ssin") from None
    if not number.is_bis:
        raise EhcertError(
            ErrorKind.MALFORMED,
            f"SSIN {ssin} is a national register number: its holder has a Belgian eID and "
            "requests with it. The hybrid method is for people known by a BIS number.",
            field="ssin",
        )
    return number.value
