"""Units of work: one transaction per operation, refusals audited after the rollback.

A service's operation runs in one :class:`~sqlalchemy.orm.Session`: what it writes
(a certificate, its ledger row, the audit record of the decision) commits together or
not at all. A refusal is an :class:`~ehcert.core.errors.EhcertError` raised out of that
transaction, which therefore rolls back; the refusal's audit record must not go with
it. :class:`HeldBackAudit` keeps refusal records aside and :meth:`Transactions.audited`
writes them once the operation's transaction is over, in a transaction of their own.

One request, one transaction: an issuance used to commit four times (the nonce spent at
the edge, the test citizen CA's record read, the issuance itself, the next nonce), and
each commit of a write is a flush to disk (SQLite ``synchronous=FULL``, PostgreSQL's WAL).
:meth:`Transactions.shared` opens one transaction that every unit of work inside it
joins, each in a SAVEPOINT of its own, so each still commits or rolls back as a whole:

- a unit that raises rolls back to its savepoint; an audited one's refusals are then
  written into the shared transaction (they no longer wait for a transaction of their
  own, and commit with what came before);
- a refusal (:class:`~ehcert.core.errors.EhcertError`) leaving the block commits what the
  finished units did: the nonce stays spent (RFC 8555 section 6.5) and the refusal
  recorded, exactly as when each had its own transaction;
- anything else (a bug, a lost connection) rolls the whole request back: nothing of it
  happened, its nonce included, as if it had never arrived.

On SQLite the shared transaction takes the write lock first (``BEGIN IMMEDIATE``,
``store.db.lock_for_write``): a transaction that read first could not write later if
another writer came in between, and SAVEPOINT outside a transaction would commit on
release. A nonce spent in the shared transaction is locked (PostgreSQL's row lock,
SQLite's single writer) until it commits, so a second request with the same nonce waits
and then finds it used: still at most one use.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ehcert.core.audit import REFUSED, AuditSink
from ehcert.core.errors import EhcertError
from ehcert.store.audit import AuditLog
from ehcert.store.db import Database, lock_for_write

T = TypeVar("T")

# One held-back record: action, actor, subject, detail, time (``AuditLog.append`` order).
HeldRecord = tuple[str, str, str, dict[str, object], dt.datetime]

_MAX_NAME = 200


def storable_text(text: str) -> str:
    """``text`` with what UTF-8 cannot hold (a lone surrogate from JSON's ``\\ud800``)
    replaced, so a record naming bad input can still be written, on either database."""
    return text.encode("utf-8", "replace").decode("utf-8")


def json_safe(detail: dict[str, object]) -> dict[str, Any]:
    """``detail`` as the JSON the audit log stores; what JSON cannot hold becomes a string."""
    text = storable_text(json.dumps(detail, default=str, ensure_ascii=False))
    return json.loads(text)  # type: ignore[no-any-return]


def _append(log: AuditLog, record: HeldRecord) -> None:
    action, actor, subject, detail, at = record
    log.append(
        at,
        action,
        storable_text(actor[:_MAX_NAME]),
        storable_text(subject[:_MAX_NAME]),
        json_safe(detail),
    )


class HeldBackAudit:
    """An :class:`~ehcert.core.audit.AuditSink` over one session: successes join its
    transaction, refusals wait for one of their own (see the module docstring)."""

    def __init__(self, session: Session) -> None:
        self._log = AuditLog(session)
        self.refusals: list[HeldRecord] = []

    def record(
        self, action: str, actor: str, subject: str, detail: dict[str, object], at: dt.datetime
    ) -> None:
        if action == REFUSED:
            self.refusals.append((action, actor, subject, detail, at))
            return
        _append(self._log, (action, actor, subject, detail, at))


class Transactions:
    """The units of work over one database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._shared: ContextVar[Session | None] = ContextVar("ehcert_shared", default=None)
        # SQLite has one writer: the shared blocks of this process queue here instead of
        # polling SQLite's busy handler for the lock another thread holds.
        self._writer = threading.Lock() if database.dialect == "sqlite" else None

    @contextmanager
    def shared(self) -> Iterator[None]:
        """One transaction for every unit of work in the block (module docstring)."""
        if self._shared.get() is not None:
            yield  # already inside one: the outer block commits
            return
        refusal: EhcertError | None = None
        with self._writer or nullcontext(), self._database.session() as session:
            lock_for_write(session)
            token = self._shared.set(session)
            try:
                yield
            except EhcertError as error:
                refusal = error
            finally:
                self._shared.reset(token)
        if refusal is not None:
            raise refusal

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction with no audit trail: reads, and writes that need no record."""
        shared = self._shared.get()
        if shared is not None:
            with shared.begin_nested():
                yield shared
            return
        with self._database.session() as session:
            yield session

    @contextmanager
    def step(self) -> Iterator[Session]:
        """:meth:`session` for one statement that is atomic by itself (a conditional UPDATE,
        a read): inside a shared block it joins without a savepoint of its own, two round
        trips fewer on PostgreSQL; a failure there fails the whole block."""
        shared = self._shared.get()
        if shared is not None:
            yield shared
            return
        with self._database.session() as session:
            yield session

    def audited(self, work: Callable[[Session, AuditSink], T]) -> T:
        """Run ``work`` in one transaction; audit its refusals afterwards, in their own."""
        shared = self._shared.get()
        if shared is not None:
            return self._audited_in(shared, work)
        audit: HeldBackAudit | None = None
        try:
            with self._database.session() as session:
                audit = HeldBackAudit(session)
                return work(session, audit)
        finally:
            if audit is not None and audit.refusals:
                with self._database.session() as session:
                    log = AuditLog(session)
                    for record in audit.refusals:
                        _append(log, record)

    @staticmethod
    def _audited_in(shared: Session, work: Callable[[Session, AuditSink], T]) -> T:
        """``audited`` inside a shared transaction: ``work`` in a savepoint, its refusals
        written after the savepoint rolled back, into the shared transaction."""
        audit = HeldBackAudit(shared)
        try:
            with shared.begin_nested():
                return work(shared, audit)
        finally:
            if audit.refusals:
                log = AuditLog(shared)
                for record in audit.refusals:
                    _append(log, record)

    def record_refusal(
        self, actor: str, subject: str, detail: dict[str, object], at: dt.datetime
    ) -> None:
        """Write one refusal record in a transaction of its own: a refusal decided before
        any service's unit of work began (the HTTP edge's, ``api.problems``)."""
        with self._database.session() as session:
            _append(AuditLog(session), (REFUSED, actor, subject, detail, at))
