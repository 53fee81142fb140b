"""The ETK depot's operations as the HTTP edge calls them, each in its unit of work.

Registration runs in the units of work ``etkdepot.registration`` describes: the
challenge in one transaction; the answer in two, the challenge consumed in the first so
that a wrong answer spends it too, the ETK signed, published and audited in the second.
Refusals are audited after their transaction rolls back (``store.unit_of_work``).
Lookups are read-only: two index probes per identifier (``store.etks``), made once and
kept until a decision is recorded (``etkdepot.prepared``, ``store.change_signal``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar, cast

from ehcert.core.identity import Identity
from ehcert.etkdepot.adapters import StoredEtkChallenges, StoredEtkIndex, StoredEtkPublisher
from ehcert.etkdepot.lookup import EtkAnswer, look_up, parse_queries
from ehcert.etkdepot.ports import EtkPublication, EtkSigner
from ehcert.etkdepot.prepared import PreparedAnswers
from ehcert.etkdepot.registration import EtkRegistrar, IssuedChallenge
from ehcert.ra.adapters import Ledger
from ehcert.registry.adapter import RegistryFacts
from ehcert.store.unit_of_work import Transactions

T = TypeVar("T")
P = TypeVar("P")


class EtkDepot:
    """ETK registration (challenge, answer) and GetEtk lookups."""

    def __init__(
        self,
        transactions: Transactions,
        signer: EtkSigner,
        changes: Callable[[], Hashable],
    ) -> None:
        self._transactions = transactions
        self._signer = signer
        self._changes = changes
        self._prepared: PreparedAnswers[object] = PreparedAnswers()

    def _run(self, operation: Callable[[EtkRegistrar], T]) -> T:
        return self._transactions.audited(
            lambda session, audit: operation(
                EtkRegistrar(
                    Ledger(session),
                    StoredEtkChallenges(session),
                    StoredEtkPublisher(session),
                    self._signer,
                    audit,
                )
            )
        )

    def challenge(
        self, identity: Identity, encryption_der: bytes, now: dt.datetime
    ) -> IssuedChallenge:
        """Registration step 1: a challenge encrypted to the encryption certificate's key."""
        return self._run(lambda registrar: registrar.challenge(identity, encryption_der, now))

    def answer(
        self, identity: Identity, challenge_id: str, answer: bytes, now: dt.datetime
    ) -> EtkPublication:
        """Registration step 2: the challenge is consumed in a unit of work of its own, so
        a wrong answer spends it too; a right one publishes the ETK."""
        challenge = self._run(lambda registrar: registrar.take(identity, challenge_id, now))
        return self._run(lambda registrar: registrar.publish(identity, challenge, answer, now))

    def lookup(self, identifiers: Sequence[str], now: dt.datetime) -> list[EtkAnswer]:
        """GetEtk (``etkdepot.lookup``): one answer per identifier, in order."""
        queries = parse_queries(identifiers)
        with self._transactions.session() as session:
            registry = RegistryFacts(session)
            return look_up(StoredEtkIndex(session), queries, now, registry.ssin_for_nihii)

    def prepared_lookup(
        self,
        identifiers: Sequence[str],
        now: dt.datetime,
        prepare: Callable[[list[EtkAnswer]], P],
    ) -> P:
        """:meth:`lookup` rendered by ``prepare``, kept until a decision is recorded or a
        served ETK ends (``etkdepot.prepared``). The change token (``changes``, the
        store's ``ChangeSignal``) is taken before the answers are read, so an answer is
        never kept under a token newer than the state it was built from.
        """
        kept = self.kept_lookup(identifiers, now, prepare)
        if kept is not None:
            return kept
        key = (prepare, tuple(identifiers))  # what is kept is what this ``prepare`` made
        queries = parse_queries(identifiers)
        head = self._changes()
        with self._transactions.session() as session:
            registry = RegistryFacts(session)
            answers = look_up(StoredEtkIndex(session), queries, now, registry.ssin_for_nihii)
        value = prepare(answers)
        ends = [answer.served_until for answer in answers if answer.served_until is not None]
        self._prepared.put(key, head, now, value, ends)
        return value

    def kept_lookup(
        self,
        identifiers: Sequence[str],
        now: dt.datetime,
        prepare: Callable[[list[EtkAnswer]], P],
    ) -> P | None:
        """The answer :meth:`prepared_lookup` kept for these identifiers, if it still
        holds; None otherwise. Nothing is read but the change token (a few microseconds,
        ``store.change_signal``), so the HTTP edge may call it on its event loop."""
        kept = self._prepared.get((prepare, tuple(identifiers)), self._changes(), now)
        return None if kept is None else cast(P, kept)
