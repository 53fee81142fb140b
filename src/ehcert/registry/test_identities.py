"""Integrators' test identities: test persons, test institutions and test mandates.

An integrator of the acceptance environment (method ``integrator``: its integrator
certificate, ``ra.integrators``) makes the people and organisations its software needs
to try every service, without an eID and without touching real data. Rules:

- **acceptance only**: a production platform has no integrators and no test data; its
  HTTP edge does not even have these routes (``api.integrators``), and this registry
  refuses there too (``forbidden``);
- a **test person** gets an SSIN of the reserved block (``core.reserved_ssins``: born
  on 30 or 31 February, which no register gives), handed out by the platform or named
  by the integrator from that block, and is a ``validated`` care provider of the
  profession given (a doctor unless said);
- a **test institution** may have any identifier not registered yet, and has both
  attestations on record (minimum security norms from the day it was made, a
  data-sharing authorisation that names the integrator), so it may get certificates;
- a **test mandate** links a test person to a test institution, both the integrator's
  own; an integrator cannot see, use or change another's test identities, nor the
  authentic source's real ones (``forbidden``, naming the field);
- everything is **marked** as test data with its owner (``test_owner_cbe``,
  ``store.test_data``) and audited under the integrator.

Bad input is refused with ``malformed`` naming the field, as every registry value is.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId
from ehcert.core.identity import Identity
from ehcert.core.reserved_ssins import (
    RESERVED_BLOCK_SIZE,
    RESERVED_BLOCK_TEXT,
    is_reserved_test_ssin,
    reserved_test_ssin,
)
from ehcert.registry.validation import (
    MAX_INSTITUTION_NAME,
    MAX_PERSON_NAME,
    parse_institution,
    parse_profession,
    parse_ssin,
    parse_text,
)
from ehcert.store.test_data import IntegratorTestData, OwnedInstitution, OwnedMandate, OwnedPerson
from ehcert.store.unit_of_work import Transactions

T = TypeVar("T")
ALLOCATION_ATTEMPTS = 32  # random draws from 199,600 numbers before giving up


@dataclass(frozen=True, slots=True)
class TestIdentityListing:
    """Everything one integrator owns."""

    __test__ = False  # a name of the domain, not a test class

    people: tuple[OwnedPerson, ...]
    institutions: tuple[OwnedInstitution, ...]
    mandates: tuple[OwnedMandate, ...]


def _forbidden(detail: str, field: str) -> EhcertError:
    return EhcertError(ErrorKind.FORBIDDEN, detail, field=field)


class TestIdentities:
    """The integrator's operations on its test identities; one audited unit of work each."""

    __test__ = False

    def __init__(self, transactions: Transactions, environment: str) -> None:
        self._transactions = transactions
        self._environment = environment

    def _owner(self, identity: Identity) -> str:
        if self._environment != "acceptance":
            raise EhcertError(
                ErrorKind.FORBIDDEN,
                f"Test identities exist only in the acceptance environment; this platform "
                f"is the {self._environment} environment.",
            )
        if identity.method != "integrator" or identity.integrator is None:
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                "Test identities are made by a software integrator, signing with its "
                "integrator certificate.",
            )
        return identity.integrator

    def _run(
        self,
        action: str,
        identity: Identity,
        subject: str,
        now: dt.datetime,
        work: Callable[[IntegratorTestData, str, AuditSink], T],
    ) -> T:
        """``work`` in one transaction with the integrator's CBE; a refusal is audited
        (after the rollback, ``store.unit_of_work``) under the integrator."""

        def unit(session: Session, audit: AuditSink) -> T:
            try:
                return work(IntegratorTestData(session), self._owner(identity), audit)
            except EhcertError as error:
                audit.record(REFUSED, identity.actor, subject, refusal_detail(action, error), now)
                raise

        return self._transactions.audited(unit)

    # -- test persons ------------------------------------------------------------------

    def add_person(
        self,
        identity: Identity,
        *,
        first_name: str,
        last_name: str,
        profession: str = "doctor",
        ssin: str | None = None,
        now: dt.datetime,
    ) -> OwnedPerson:
        """A test care provider; its SSIN from the reserved block (module docstring)."""

        def work(data: IntegratorTestData, owner: str, audit: AuditSink) -> OwnedPerson:
            first = parse_text(first_name, "first_name", "first name", MAX_PERSON_NAME)
            last = parse_text(last_name, "last_name", "last name", MAX_PERSON_NAME)
            kind = parse_profession(profession)
            number = self._chosen_ssin(ssin) if ssin is not None else _free_ssin(data)
            person = data.add_person(owner, number, first, last, kind, now=now)
            audit.record(
                "test-identity",
                identity.actor,
                f"SSIN={number}",
                {"op": "add-test-person", "profession": kind.value},
                now,
            )
            return person

        return self._run("add test person", identity, f"SSIN={ssin or 'new'}", now, work)

    @staticmethod
    def _chosen_ssin(ssin: str) -> str:
        number = parse_ssin(ssin)
        if not is_reserved_test_ssin(number):
            raise EhcertError(
                ErrorKind.MALFORMED,
                f"SSIN {number} is outside the block reserved for test persons, "
                f"{RESERVED_BLOCK_TEXT}; leave the SSIN out and the platform picks one.",
                field="ssin",
            )
        return number

    # -- test institutions -------------------------------------------------------------

    def add_institution(
        self, identity: Identity, institution: str, name: str, *, now: dt.datetime
    ) -> OwnedInstitution:
        """A test institution, attested from today (module docstring)."""

        def work(data: IntegratorTestData, owner: str, audit: AuditSink) -> OwnedInstitution:
            found = parse_institution(institution)
            label = parse_text(name, "name", "institution name", MAX_INSTITUTION_NAME)
            made = data.add_institution(
                owner,
                found,
                label,
                attested_on=now.date(),
                authorisation=f"TEST-DATA-OF-CBE-{owner}",
                now=now,
            )
            audit.record(
                "test-identity", identity.actor, str(found), {"op": "add-test-institution"}, now
            )
            return made

        return self._run("add test institution", identity, str(institution)[:80], now, work)

    # -- test mandates -----------------------------------------------------------------

    def add_mandate(
        self, identity: Identity, institution: str, ssin: str, *, now: dt.datetime
    ) -> OwnedMandate:
        """An open mandate of the integrator's test person for its test institution."""

        def work(data: IntegratorTestData, owner: str, audit: AuditSink) -> OwnedMandate:
            found = parse_institution(institution)
            holder = parse_ssin(ssin)
            check_owns_institution(data, owner, found)
            check_owns_person(data, owner, holder)
            mandate = data.add_mandate(owner, found, holder, now)
            assert mandate is not None  # the institution is there: it was just checked
            audit.record(
                "test-identity",
                identity.actor,
                str(found),
                {"op": "add-test-mandate", "holder": holder},
                now,
            )
            return mandate

        return self._run("add test mandate", identity, str(institution)[:80], now, work)

    # -- listing -----------------------------------------------------------------------

    def listing(self, identity: Identity, now: dt.datetime) -> TestIdentityListing:
        def work(data: IntegratorTestData, owner: str, audit: AuditSink) -> TestIdentityListing:
            del audit
            return TestIdentityListing(
                tuple(data.people(owner)),
                tuple(data.institutions(owner)),
                tuple(data.mandates(owner)),
            )

        return self._run("list test identities", identity, "test-identities", now, work)


def check_owns_person(data: IntegratorTestData, owner: str, ssin: str, field: str = "ssin") -> None:
    """``ssin`` is a test person of ``owner``: NOT_FOUND if nobody, FORBIDDEN if another's."""
    if not data.person_exists(ssin):
        raise EhcertError(
            ErrorKind.NOT_FOUND, f"SSIN {ssin} is not a test person of yours.", field=field
        )
    if data.person_owner(ssin) != owner:
        raise _forbidden(
            f"SSIN {ssin} is not a test person of integrator CBE {owner}; an integrator acts "
            "on its own test identities only.",
            field,
        )


def check_owns_institution(
    data: IntegratorTestData, owner: str, institution: InstitutionId, field: str = "institution"
) -> None:
    found = data.institution_owner(institution)
    if found == owner:
        return
    if found is None and not data.institution_exists(institution):
        raise EhcertError(
            ErrorKind.NOT_FOUND,
            f"{institution} is not a test institution of yours.",
            field=field,
        )
    raise _forbidden(
        f"{institution} is not a test institution of integrator CBE {owner}; an integrator "
        "acts on its own test identities only.",
        field,
    )


def _free_ssin(data: IntegratorTestData) -> str:
    """A number of the reserved block nobody holds yet, drawn at random (so integrators'
    numbers do not follow each other and tell nothing about one another)."""
    for _ in range(ALLOCATION_ATTEMPTS):
        candidate = reserved_test_ssin(secrets.randbelow(RESERVED_BLOCK_SIZE))
        if not data.person_exists(candidate):
            return candidate
    raise EhcertError(
        ErrorKind.CONFLICT, "No free SSIN was found in the block reserved for test persons."
    )
