"""Units of work: the work and its audit record commit together; a refusal rolls the
work back and is still audited, in a transaction of its own."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy.orm import Session

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.store.audit import AuditLog
from ehcert.store.db import Database
from ehcert.store.nonces import NonceRepository
from ehcert.store.unit_of_work import Transactions

T0 = dt.datetime(2031, 5, 4, 8, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(minutes=10)


def audit_actions(database: Database) -> list[tuple[str, str, dict[str, object]]]:
    with database.session() as session:
        return [
            (record.action, record.actor, json.loads(record.detail))
            for record in AuditLog(session).records()
        ]


def nonce_was_kept(database: Database, value: str) -> bool:
    with database.session() as session:
        return NonceRepository(session).consume(value, T0)


def test_the_work_and_its_audit_record_commit_together(database: Database) -> None:
    def work(session: Session, audit: AuditSink) -> str:
        NonceRepository(session).create("kept-nonce-0123456789", T0, TTL)
        audit.record("issued", "ra", "SSIN=79021802145", {"at": T0}, T0)
        return "done"

    assert Transactions(database).audited(work) == "done"
    assert nonce_was_kept(database, "kept-nonce-0123456789")
    # What JSON cannot hold (a datetime) is stored as its string.
    assert audit_actions(database) == [("issued", "ra", {"at": str(T0)})]


def test_a_refusal_rolls_the_work_back_and_is_audited_in_its_own_transaction(
    database: Database,
) -> None:
    refusal = EhcertError(ErrorKind.FORBIDDEN, "Not for you.")

    def work(session: Session, audit: AuditSink) -> None:
        NonceRepository(session).create("lost-nonce-0123456789", T0, TTL)
        audit.record("issued", "ra", "SSIN=79021802145", {}, T0)
        audit.record(REFUSED, "x" * 300, "SSIN=79021802145", refusal_detail("request", refusal), T0)
        raise refusal

    with pytest.raises(EhcertError) as raised:
        Transactions(database).audited(work)
    assert raised.value is refusal
    assert not nonce_was_kept(database, "lost-nonce-0123456789")
    assert audit_actions(database) == [
        (
            REFUSED,
            "x" * 200,
            {"action": "request", "kind": "forbidden", "reason": "Not for you."},
        )
    ]
    with database.session() as session:
        assert AuditLog(session).verify().ok


def test_a_refusal_naming_a_lone_surrogate_is_still_audited(database: Database) -> None:
    """JSON's ``\\ud800`` is no Unicode text; neither database stores it as it is, and a
    refusal record holding it must be written all the same (with a replacement)."""
    transactions = Transactions(database)

    def work(session: Session, audit: AuditSink) -> None:
        error = EhcertError(ErrorKind.MALFORMED, "Field serial is \ud800.", field="serial")
        audit.record(REFUSED, "SSIN \ud800", "serial=\ud800", refusal_detail("revoke", error), T0)
        raise error

    with pytest.raises(EhcertError):
        transactions.audited(work)
    transactions.record_refusal("anonymous", "POST /v1/x", {"reason": "bad \ud800"}, T0)

    records = audit_actions(database)
    assert [action for action, _, _ in records] == [REFUSED, REFUSED]
    assert records[0][1] == "SSIN ?"
    assert records[0][2]["reason"] == "Field serial is ?."
    assert records[1][2] == {"reason": "bad ?"}


# --- one transaction per request (Transactions.shared) ------------------------------


def _spend(transactions: Transactions, value: str) -> bool:
    with transactions.session() as session:
        return NonceRepository(session).consume(value, T0)


def _nonce(database: Database, value: str) -> None:
    with database.session() as session:
        NonceRepository(session).create(value, T0 - dt.timedelta(minutes=1), TTL)


def test_units_inside_a_shared_block_commit_once_together(database: Database) -> None:
    transactions = Transactions(database)
    _nonce(database, "spent-nonce-0123456789")
    with transactions.shared():
        assert _spend(transactions, "spent-nonce-0123456789")
        assert not _spend(transactions, "spent-nonce-0123456789")  # single use inside too

        def work(session: Session, audit: AuditSink) -> None:
            NonceRepository(session).create("next-nonce-0123456789", T0, TTL)
            audit.record("issued", "ra", "SSIN=79021802145", {}, T0)

        transactions.audited(work)
    assert not nonce_was_kept(database, "spent-nonce-0123456789")  # spent for good
    assert nonce_was_kept(database, "next-nonce-0123456789")
    assert [action for action, _, _ in audit_actions(database)] == ["issued"]


def test_a_refusal_in_a_shared_block_keeps_the_nonce_spent_and_the_refusal_audited(
    database: Database,
) -> None:
    transactions = Transactions(database)
    _nonce(database, "spent-nonce-0123456789")
    refusal = EhcertError(ErrorKind.FORBIDDEN, "Not for you.")

    def work(session: Session, audit: AuditSink) -> None:
        NonceRepository(session).create("lost-nonce-0123456789", T0, TTL)
        audit.record("issued", "ra", "SSIN=79021802145", {}, T0)
        audit.record(REFUSED, "ra", "SSIN=79021802145", refusal_detail("request", refusal), T0)
        raise refusal

    with pytest.raises(EhcertError) as raised, transactions.shared():
        assert _spend(transactions, "spent-nonce-0123456789")
        transactions.audited(work)
    assert raised.value is refusal
    assert not nonce_was_kept(database, "spent-nonce-0123456789")  # the replay is refused
    assert not nonce_was_kept(database, "lost-nonce-0123456789")  # the work rolled back
    assert [action for action, _, _ in audit_actions(database)] == [REFUSED]


def test_anything_but_a_refusal_rolls_the_whole_shared_block_back(database: Database) -> None:
    transactions = Transactions(database)
    _nonce(database, "kept-nonce-0123456789")
    with pytest.raises(RuntimeError), transactions.shared():
        assert _spend(transactions, "kept-nonce-0123456789")
        raise RuntimeError("connection lost")
    assert nonce_was_kept(database, "kept-nonce-0123456789")  # nothing of it happened


def test_a_failed_unit_in_a_shared_block_rolls_back_alone(database: Database) -> None:
    transactions = Transactions(database)
    with transactions.shared():
        with pytest.raises(EhcertError), transactions.session() as session:
            NonceRepository(session).create("lost-nonce-0123456789", T0, TTL)
            raise EhcertError(ErrorKind.CONFLICT, "Taken.")
        with transactions.session() as session:
            NonceRepository(session).create("kept-nonce-0123456789", T0, TTL)
    assert nonce_was_kept(database, "kept-nonce-0123456789")
    assert not nonce_was_kept(database, "lost-nonce-0123456789")


def test_a_step_joins_a_shared_block_and_stands_alone_outside(database: Database) -> None:
    transactions = Transactions(database)
    _nonce(database, "spent-nonce-0123456789")
    with transactions.step() as session:  # outside: its own transaction
        assert NonceRepository(session).consume("spent-nonce-0123456789", T0)
    assert not nonce_was_kept(database, "spent-nonce-0123456789")
    _nonce(database, "kept-nonce-0123456789")
    with pytest.raises(RuntimeError), transactions.shared():
        with transactions.step() as session:
            assert NonceRepository(session).consume("kept-nonce-0123456789", T0)
        raise RuntimeError("connection lost")
    assert nonce_was_kept(database, "kept-nonce-0123456789")  # rolled back with the block
