"""The RA's operations as the HTTP edge and the operator's console call them.

Each operation is one unit of work (``store.unit_of_work``): a
:class:`~ehcert.ra.service.RegistrationAuthority` is bound to the registry, the ledger,
the CA's one signing method and the audit trail of a single transaction, so the
certificate, its ledger row and the audit record of the decision commit together or
not at all; a refusal rolls that transaction back and is audited after it, in its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identity import Identity
from ehcert.ra.adapters import Ledger, LedgerIssuer, LedgerRevoker, StoredDigitalKeys
from ehcert.ra.ports import AuthenticationSigner, CertificateFacts
from ehcert.ra.service import RegistrationAuthority
from ehcert.registry.adapter import RegistryFacts
from ehcert.store.unit_of_work import Transactions

T = TypeVar("T")


class CertificateService:
    """Request, renew and revoke certificates, and the certra queries; one transaction each."""

    def __init__(
        self, transactions: Transactions, signer: AuthenticationSigner, environment: str
    ) -> None:
        self._transactions = transactions
        self._signer = signer
        self._environment = environment

    def _run(self, operation: Callable[[RegistrationAuthority], T]) -> T:
        return self._transactions.audited(
            lambda session, audit: operation(
                RegistrationAuthority(
                    RegistryFacts(session),
                    Ledger(session),
                    LedgerIssuer(self._signer, session, self._environment),
                    LedgerRevoker(session),
                    audit,
                    digital_keys=StoredDigitalKeys(session),
                )
            )
        )

    def request(
        self,
        identity: Identity,
        csr: bytes,
        institution: str | None,
        app: str | None,
        now: dt.datetime,
    ) -> CertificateFacts:
        return self._run(lambda ra: ra.request(identity, csr, institution, app, now))

    def renew(
        self, identity: Identity, csr: bytes, serial: str, now: dt.datetime
    ) -> CertificateFacts:
        return self._run(lambda ra: ra.renew(identity, csr, serial, now))

    def revoke(
        self, identity: Identity, serial: str, reason: str, now: dt.datetime
    ) -> CertificateFacts:
        return self._run(lambda ra: ra.revoke(identity, serial, reason, now))

    def renewal_check(
        self, identity: Identity, serial: str, now: dt.datetime
    ) -> tuple[CertificateFacts, EhcertError | None]:
        return self._run(lambda ra: ra.renewal_check(identity, serial, now))

    def revocable(self, identity: Identity, now: dt.datetime) -> list[CertificateFacts]:
        return self._run(lambda ra: ra.revocable(identity, now))

    def application_ids(self, identity: Identity, holder: str, now: dt.datetime) -> list[str]:
        return self._run(lambda ra: ra.application_ids(identity, holder, now))

    def qualities(self, identity: Identity, now: dt.datetime) -> dict[str, object]:
        return self._run(lambda ra: ra.qualities(identity, now))

    # -- reads -------------------------------------------------------------------------

    def issued(self, serial_hex: str) -> CertificateFacts | None:
        """The ledger's facts about a certificate issued here, or None."""
        with self._transactions.session() as session:
            return Ledger(session).get(serial_hex)

    def status(self, serial_hex: str) -> CertificateFacts:
        """A certificate issued here, by serial (any case); NOT_FOUND names the serial."""
        facts = self.issued(serial_hex.lower())
        if facts is None:
            raise EhcertError(
                ErrorKind.NOT_FOUND, f"No certificate with serial {serial_hex} was issued here."
            )
        return facts

    def live_for_holder(
        self, holder_type: str, holder_value: str, now: dt.datetime
    ) -> list[CertificateFacts]:
        """A holder's certificates that are valid now (the console revokes these)."""
        with self._transactions.session() as session:
            found = Ledger(session).for_holder(holder_type, holder_value)
        return [facts for facts in found if facts.is_live(now)]
