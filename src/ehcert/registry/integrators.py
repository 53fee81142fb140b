"""Software integrators: the companies that build on the acceptance environment.

A software company that integrates eHealth services registers by its CBE enterprise
number (``core.identifiers``: 10 digits, mod-97) with the reference of the request form
it signed, the paper trail of who asked. Integrators belong to acceptance only: a
production platform has no integrators at all, so :class:`IntegratorRegistry` refuses
every call there (``forbidden``), and test data can never be made on production.

An integrator proves itself the first time with a **one-time enrolment secret**
(:meth:`IntegratorRegistry.new_enrolment_secret`, printed by ``ehcert admin integrator
add``): the operator hands it over with the signed request form, and the integrator
trades it, with a CSR, for its integrator certificate (``ra.integrators``). A secret was
chosen over a request signed with an existing credential because a company has no
credential of this platform before it: an eID names a person, not the company, and the
company's own certificate (if it has one) is production's. The secret is 32 random
bytes (so guessing is hopeless and no rate limit is needed), valid 30 days, kept only as
its SHA-256 and spent by the enrolment; a lost integrator key needs a new secret.

Every write and its audit record commit together; bad input is refused with
``EhcertError(MALFORMED)`` naming the field, as every registry value is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import cbe_check_is_valid
from ehcert.registry.validation import MAX_INSTITUTION_NAME, parse_text
from ehcert.store.audit import AuditLog
from ehcert.store.columns import require_aware
from ehcert.store.db import Database
from ehcert.store.integrators import IntegratorRecord, IntegratorRepository

AUDIT_ACTION = "registry"
MAX_FORM_REFERENCE = 64
ENROLMENT_SECRET_VALIDITY = dt.timedelta(days=30)
ENROLMENT_SECRET_BYTES = 32


@dataclass(frozen=True, slots=True)
class EnrolmentSecret:
    """A one-time enrolment secret, shown once (``repr`` never shows it)."""

    cbe: str
    secret: str
    expires_at: dt.datetime

    def __repr__(self) -> str:
        return f"EnrolmentSecret(cbe={self.cbe!r}, expires_at={self.expires_at!r})"


def secret_sha256(secret: str) -> str:
    """How an enrolment secret is kept: the hex SHA-256 of its UTF-8 text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


_CBE_WRITTEN = re.compile(r"[01]\d{3}[. ]?\d{3}[. ]?\d{3}")


def _malformed(detail: str, field: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, detail, field=field)


def parse_cbe(value: str) -> str:
    """A CBE number as 10 digits, written plain or grouped (``0123.456.749``)."""
    if not isinstance(value, str):
        raise TypeError("cbe must be a string")
    text = value.strip().removeprefix("BE").strip()
    if not _CBE_WRITTEN.fullmatch(text):
        raise _malformed(
            f"The CBE number must be 10 digits starting with 0 or 1, not {value[:30]!r}.", "cbe"
        )
    digits = text.replace(".", "").replace(" ", "")
    if not cbe_check_is_valid(digits):
        raise _malformed(f"The CBE number {digits} fails the mod-97 check.", "cbe")
    return digits


def parse_form_reference(value: str) -> str:
    """The signed request form's reference: printable, one word, at most 64 characters."""
    text = parse_text(value, "form_reference", "request form reference", MAX_FORM_REFERENCE)
    if any(character.isspace() for character in text):
        raise _malformed(
            f"The request form reference must be one word, not {text!r}.", "form_reference"
        )
    return text


def require_acceptance(environment: str) -> None:
    """Integrators, their test data and their certificates exist only in acceptance
    (DESIGN.md: acceptance is never trusted by production); anywhere else, FORBIDDEN."""
    if environment != "acceptance":
        raise EhcertError(
            ErrorKind.FORBIDDEN,
            f"Integrators exist only in the acceptance environment; this platform is "
            f"the {environment} environment, which has no test data at all.",
        )


class IntegratorRegistry:
    """The operator's console over the integrators of one acceptance platform."""

    def __init__(self, database: Database, environment: str) -> None:
        self._database = database
        self._environment = environment

    def add(
        self,
        cbe: str,
        name: str,
        form_reference: str,
        *,
        now: dt.datetime,
        actor: str = "registry",
    ) -> IntegratorRecord:
        """Register a software company with the reference of its signed request form."""
        require_acceptance(self._environment)
        number = parse_cbe(cbe)
        company = parse_text(name, "name", "company name", MAX_INSTITUTION_NAME)
        reference = parse_form_reference(form_reference)
        moment = require_aware(now, "now")
        with self._database.session() as session:
            record = IntegratorRepository(session).add(number, company, reference, moment)
            AuditLog(session).append(
                moment,
                AUDIT_ACTION,
                actor,
                f"CBE={number}",
                {"op": "add-integrator", "form_reference": reference},
            )
        return record

    def integrators(self) -> list[IntegratorRecord]:
        require_acceptance(self._environment)
        with self._database.session() as session:
            return IntegratorRepository(session).all()

    def integrator(self, cbe: str) -> IntegratorRecord | None:
        require_acceptance(self._environment)
        number = parse_cbe(cbe)
        with self._database.session() as session:
            return IntegratorRepository(session).by_cbe(number)

    def new_enrolment_secret(
        self, cbe: str, *, now: dt.datetime, actor: str = "registry"
    ) -> EnrolmentSecret:
        """A fresh one-time secret for ``cbe``'s (next) enrolment; it replaces any
        outstanding one. NOT_FOUND naming ``cbe`` for a company not registered."""
        require_acceptance(self._environment)
        number = parse_cbe(cbe)
        moment = require_aware(now, "now")
        secret = secrets.token_urlsafe(ENROLMENT_SECRET_BYTES)
        expires_at = moment + ENROLMENT_SECRET_VALIDITY
        with self._database.session() as session:
            if not IntegratorRepository(session).set_enrolment_secret(
                number, secret_sha256(secret), expires_at
            ):
                raise EhcertError(
                    ErrorKind.NOT_FOUND,
                    f"No integrator with CBE {number} is registered.",
                    field="cbe",
                )
            AuditLog(session).append(
                moment,
                AUDIT_ACTION,
                actor,
                f"CBE={number}",
                {"op": "integrator-enrolment-secret", "expires_at": expires_at.isoformat()},
            )
        return EnrolmentSecret(number, secret, expires_at)
