"""The audit chain verifies when intact and names the first bad record when tampered with."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, insert, select, update

from ehcert.store.audit import AuditLog, record_hash, verify_audit_chain
from ehcert.store.db import Database
from ehcert.store.models import GENESIS_HASH, AuditHeadRow, AuditRecordRow

T0 = dt.datetime(2031, 5, 4, 8, 0, tzinfo=dt.UTC)


def append_records(database: Database, count: int) -> None:
    with database.session() as session:
        log = AuditLog(session)
        for index in range(count):
            log.append(
                T0 + dt.timedelta(minutes=index),
                "issued",
                "ra",
                f"SSIN=7902180214{index % 10}",
                {"serial": f"{index:04x}", "profile": "person", "note": "é"},
            )


def verify(database: Database) -> tuple[bool, int, int | None]:
    with database.session() as session:
        outcome = verify_audit_chain(session)
    return outcome.ok, outcome.records, outcome.first_bad_seq


def test_an_intact_chain_verifies(database: Database) -> None:
    assert verify(database) == (True, 0, None)
    append_records(database, 5)
    assert verify(database) == (True, 5, None)
    with database.session() as session:
        records = AuditLog(session).records()
        assert AuditLog(session).verify().ok
    assert [record.seq for record in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(after.prev_hash == before.hash for before, after in itertools.pairwise(records))
    assert json.loads(records[0].detail) == {"serial": "0000", "profile": "person", "note": "é"}


def test_the_hash_covers_every_field() -> None:
    fields = {
        "seq": 1,
        "at": T0,
        "action": "issued",
        "actor": "ra",
        "subject": "SSIN=79021802145",
        "detail": {"a": 1},
        "prev_hash": GENESIS_HASH,
    }
    reference = record_hash(**fields)  # type: ignore[arg-type]
    changes: dict[str, object] = {
        "seq": 2,
        "at": T0 + dt.timedelta(microseconds=1),
        "action": "revoked",
        "actor": "admin",
        "subject": "SSIN=79021802146",
        "detail": {"a": 2},
        "prev_hash": "1" * 64,
    }
    for name, value in changes.items():
        assert record_hash(**{**fields, name: value}) != reference, name  # type: ignore[arg-type]


def test_an_edited_record_is_found(database: Database) -> None:
    append_records(database, 5)
    with database.session() as session:
        session.execute(
            update(AuditRecordRow).where(AuditRecordRow.seq == 3).values(actor="someone else")
        )
    ok, records, first_bad = verify(database)
    assert (ok, records, first_bad) == (False, 2, 3)


def test_an_edited_record_with_a_recomputed_hash_breaks_the_next_link(database: Database) -> None:
    append_records(database, 5)
    with database.session() as session:
        row = session.scalars(select(AuditRecordRow).where(AuditRecordRow.seq == 2)).one()
        forged = record_hash(
            seq=2,
            at=row.at,
            action="refused",
            actor=row.actor,
            subject=row.subject,
            detail=json.loads(row.detail),
            prev_hash=row.prev_hash,
        )
        session.execute(
            update(AuditRecordRow)
            .where(AuditRecordRow.seq == 2)
            .values(action="refused", hash=forged)
        )
    assert verify(database) == (False, 2, 3)


def test_a_deleted_record_is_found(database: Database) -> None:
    append_records(database, 5)
    with database.session() as session:
        session.execute(delete(AuditRecordRow).where(AuditRecordRow.seq == 4))
    assert verify(database) == (False, 3, 4)


def test_a_deleted_first_record_is_found(database: Database) -> None:
    append_records(database, 3)
    with database.session() as session:
        session.execute(delete(AuditRecordRow).where(AuditRecordRow.seq == 1))
    assert verify(database) == (False, 0, 1)


def test_a_truncated_tail_is_found(database: Database) -> None:
    append_records(database, 5)
    with database.session() as session:
        session.execute(delete(AuditRecordRow).where(AuditRecordRow.seq >= 4))
    with database.session() as session:
        outcome = verify_audit_chain(session)
    assert (outcome.ok, outcome.records, outcome.first_bad_seq) == (False, 3, 4)
    assert outcome.reason is not None and "truncated" in outcome.reason


def test_a_replaced_last_record_no_longer_matches_the_head(database: Database) -> None:
    append_records(database, 3)
    with database.session() as session:
        row = session.scalars(select(AuditRecordRow).where(AuditRecordRow.seq == 3)).one()
        forged = record_hash(
            seq=3,
            at=row.at,
            action=row.action,
            actor="nobody",
            subject=row.subject,
            detail=json.loads(row.detail),
            prev_hash=row.prev_hash,
        )
        session.execute(
            update(AuditRecordRow)
            .where(AuditRecordRow.seq == 3)
            .values(actor="nobody", hash=forged)
        )
    assert verify(database) == (False, 3, 3)


def test_a_record_slipped_in_behind_the_log_is_found(database: Database) -> None:
    append_records(database, 2)
    with database.session() as session:
        last = session.scalars(select(AuditRecordRow).where(AuditRecordRow.seq == 2)).one()
        detail: dict[str, object] = {}
        forged = record_hash(
            seq=3,
            at=T0,
            action="issued",
            actor="x",
            subject="y",
            detail=detail,
            prev_hash=last.hash,
        )
        session.execute(
            insert(AuditRecordRow).values(
                seq=3,
                at=T0,
                action="issued",
                actor="x",
                subject="y",
                detail="{}",
                prev_hash=last.hash,
                hash=forged,
            )
        )
    assert verify(database) == (False, 3, 3)


def test_a_rolled_back_append_leaves_no_trace(database: Database) -> None:
    append_records(database, 1)
    with pytest.raises(RuntimeError), database.session() as session:
        AuditLog(session).append(T0, "revoked", "admin", "SSIN=79021802145", {})
        raise RuntimeError("the revocation failed")
    assert verify(database) == (True, 1, None)
    with database.session() as session:
        assert session.scalar(select(AuditHeadRow.last_seq)) == 1


def test_append_checks_its_fields(database: Database) -> None:
    with database.session() as session:
        log = AuditLog(session)
        with pytest.raises(ValueError, match="action"):
            log.append(T0, "Issued!", "ra", "SSIN=79021802145")
        with pytest.raises(ValueError, match="actor"):
            log.append(T0, "issued", "", "SSIN=79021802145")
        with pytest.raises(ValueError, match="timezone-aware"):
            log.append(dt.datetime(2031, 1, 1), "issued", "ra", "SSIN=79021802145")


def test_concurrent_appends_never_fork_the_chain(database: Database) -> None:
    writers, per_writer = 6, 5
    barrier = threading.Barrier(writers)

    def write(writer: int) -> None:
        barrier.wait(timeout=10)
        for index in range(per_writer):
            with database.session() as session:
                # Something else is read first, as a real request would.
                session.execute(select(AuditHeadRow.last_seq)).scalar()
                AuditLog(session).append(
                    T0, "issued", f"writer-{writer}", f"serial-{index}", {"writer": writer}
                )

    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(write, range(writers)))
    assert verify(database) == (True, writers * per_writer, None)
