"""The hybrid method's operations as the HTTP edge calls them, one unit of work each.

- :class:`DigitalKeyLogins`: a digital-key login (``ra.digital_key``) in a transaction
  of its own, committed whatever the outcome: a used code, a failed attempt or a lock
  must stay recorded when the login is refused, and a code is spent even if the request
  it came with is then refused (it was shown; it must not be shown twice). The refusal
  is raised only once that transaction is over.
- :class:`RegistrationOffices`: the office's decisions (``ra.registration_office``);
  the identity check, the key and the audit record commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from ehcert.core.audit import AuditSink
from ehcert.core.documents import IdentityDocument
from ehcert.core.errors import EhcertError
from ehcert.core.identity import Identity
from ehcert.ra.adapters import StoredDigitalKeys
from ehcert.ra.digital_key import DigitalKeyLogin, DigitalKeyMethod, LoginPolicy, StoredDigitalKey
from ehcert.ra.registration_office import Enrolment, RegistrationOffice
from ehcert.registry.adapter import RegistryFacts
from ehcert.store.unit_of_work import Transactions

T = TypeVar("T")


class DigitalKeyLogins:
    def __init__(self, transactions: Transactions, policy: LoginPolicy) -> None:
        self._transactions = transactions
        self._policy = policy

    def authenticate(self, login: DigitalKeyLogin, now: dt.datetime) -> Identity:
        """The identity the digital key proves, or its refusal (after the commit)."""
        outcome = self._transactions.audited(
            lambda session, audit: DigitalKeyMethod(
                StoredDigitalKeys(session), RegistryFacts(session), audit, self._policy
            ).authenticate(login, now)
        )
        if isinstance(outcome, EhcertError):
            raise outcome
        return outcome


class RegistrationOffices:
    def __init__(self, transactions: Transactions, issuer_name: str) -> None:
        self._transactions = transactions
        self._issuer_name = issuer_name  # the account's issuer in authenticator apps

    def _run(self, operation: Callable[[RegistrationOffice], T]) -> T:
        def work(session: Session, audit: AuditSink) -> T:
            registry = RegistryFacts(session)  # reads the registry and records the check
            keys = StoredDigitalKeys(session)
            return operation(RegistrationOffice(registry, registry, keys, audit, self._issuer_name))

        return self._transactions.audited(work)

    def register(
        self,
        officer: Identity,
        ssin: str,
        document: IdentityDocument,
        *,
        username: str,
        password: str,
        now: dt.datetime,
    ) -> Enrolment:
        return self._run(
            lambda office: office.register(
                officer, ssin, document, username=username, password=password, now=now
            )
        )

    def revoke_key(
        self, officer: Identity, username: str, reason: str, now: dt.datetime
    ) -> StoredDigitalKey:
        return self._run(lambda office: office.revoke_key(officer, username, reason, now))
