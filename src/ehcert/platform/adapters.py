"""The store behind the edge's own ports: nonces and the test citizen CA's records.

The services bind their ports to the store themselves (``ra.adapters``,
``etkdepot.adapters``, ``registry.adapter``); what is left is what only the HTTP edge
asks for, each behind a single callable (``api.authentication``, ``api.protocol``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from ehcert.api.authentication import CitizenRecord
from ehcert.store.eid import EidRepository
from ehcert.store.nonces import NonceRepository
from ehcert.store.unit_of_work import Transactions

NONCE_BYTES = 24


class StoredNonces:
    """Single-use nonces (RFC 8555 section 6.5): issued with a lifetime, spent at most once."""

    def __init__(
        self,
        transactions: Transactions,
        now: Callable[[], dt.datetime],
        ttl: dt.timedelta,
        max_outstanding: int | None = None,
    ) -> None:
        self._transactions = transactions
        self._now = now
        self._ttl = ttl
        self._max_outstanding = max_outstanding

    def issue(self) -> str:
        value = secrets.token_urlsafe(NONCE_BYTES)
        with self._transactions.session() as session:
            NonceRepository(session).create(
                value, self._now(), self._ttl, max_outstanding=self._max_outstanding
            )
        return value

    def consume(self, value: str) -> bool:
        """Spend ``value``: one conditional UPDATE (``store.nonces``), atomic by itself."""
        with self._transactions.step() as session:
            return NonceRepository(session).consume(value, self._now())


class CitizenRecords:
    """What the test citizen CA recorded about an eID certificate, by serial (hex)."""

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def __call__(self, serial_hex: str) -> CitizenRecord | None:
        with self._transactions.step() as session:  # one read
            credential = EidRepository(session).by_serial(serial_hex)
        return CitizenRecord(credential.revoked_at) if credential is not None else None
