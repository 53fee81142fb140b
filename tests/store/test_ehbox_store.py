"""The eHealthBox's tables on SQLite and PostgreSQL: chunks, copies, receipts, purge."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ehcert.store.db import Database
from ehcert.store.ehbox import EhboxStore, NewMessage, StoredAbsence
from ehcert.store.models import EhboxChunkRow, EhboxPartRow, EhboxRecipientRow

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
ALICE = "SSIN=79021802145:doctor"
BOB = "SSIN=66010123462:nurse"


def _message(message_id: str, size: int = 10, *, at: dt.datetime = T0) -> NewMessage:
    return NewMessage(
        message_id=message_id,
        publication_id="pub1",
        sender_box=ALICE,
        sender_name="Alice",
        title="Lab results",
        content_type="DOCUMENT",
        important=False,
        metadata={"k": "v"},
        size=size,
        published_at=at,
        expires_at=at + dt.timedelta(days=30),
    )


def _send(store: EhboxStore, message_id: str, chunks: list[bytes], *, at: dt.datetime = T0) -> int:
    pk = store.add_message(_message(message_id, sum(map(len, chunks)), at=at))
    part = store.add_part(pk, 0, "document", sum(map(len, chunks)), "0" * 64)
    for seq, data in enumerate(chunks):
        store.add_chunk(part, seq, data)
    store.add_recipient(pk, 0, BOB, is_copy=False, published_at=at)
    store.add_copy(pk, BOB, "received", "INBOX")
    store.add_copy(pk, ALICE, "sent", "SENTBOX")
    return pk


def test_parts_are_kept_in_chunks_and_read_back_one_by_one(database: Database) -> None:
    with database.session() as session:
        _send(EhboxStore(session), "A" * 13, [b"x" * 5, b"y" * 7])
    with database.session() as session:
        store = EhboxStore(session)
        copy = store.copy(BOB, "A" * 13, "received")
        assert copy is not None
        assert copy.folder == "INBOX"
        (part,) = store.parts(copy.message.pk)
        assert (part.chunks, part.size) == (2, 12)
        assert [store.chunk(part.pk, 0), store.chunk(part.pk, 1)] == [b"x" * 5, b"y" * 7]
        assert store.chunk(part.pk, 2) is None
        assert store.box_size(BOB) == 12
        assert store.box_size(ALICE) == 12
        assert store.waiting(BOB) == 1


def test_pages_are_newest_first_and_counted(database: Database) -> None:
    with database.session() as session:
        store = EhboxStore(session)
        for index in range(5):
            _send(store, f"M{index:012d}", [b"z"])
    with database.session() as session:
        store = EhboxStore(session)
        page = store.page([BOB], "INBOX", 1, 2)
        assert [c.message.message_id for c in page] == ["M000000000003", "M000000000002"]
        assert store.count([BOB], "INBOX") == 5
        assert store.count([ALICE], "INBOX") == 0


def test_receipts_are_recorded_once(database: Database) -> None:
    with database.session() as session:
        pk = _send(EhboxStore(session), "R" * 13, [b"r"])
    with database.session() as session:
        EhboxStore(session).mark([pk], BOB, "read", T0 + dt.timedelta(minutes=1))
    with database.session() as session:
        EhboxStore(session).mark([pk], BOB, "read", T0 + dt.timedelta(minutes=9))
    with database.session() as session:
        (row,) = EhboxStore(session).recipients(pk)
        assert row.read_at == T0 + dt.timedelta(minutes=1)
        assert row.received_at is None


def test_the_last_copy_takes_the_message_and_its_chunks(database: Database) -> None:
    with database.session() as session:
        _send(EhboxStore(session), "D" * 13, [b"a", b"b"])
    with database.session() as session:
        store = EhboxStore(session)
        inbox = store.copy(BOB, "D" * 13, "received")
        assert inbox is not None
        assert store.delete_copy(inbox) is False
    with database.session() as session:
        store = EhboxStore(session)
        sent = store.copy(ALICE, "D" * 13, "sent")
        assert sent is not None
        assert store.delete_copy(sent) is True
    with database.session() as session:
        for table in (EhboxChunkRow, EhboxPartRow, EhboxRecipientRow):
            assert session.scalar(select(func.count()).select_from(table)) == 0


def test_expired_messages_are_found_and_purged(database: Database) -> None:
    with database.session() as session:
        store = EhboxStore(session)
        _send(store, "O" * 13, [b"o"], at=T0 - dt.timedelta(days=40))
        _send(store, "N" * 13, [b"n"])
    with database.session() as session:
        store = EhboxStore(session)
        expired = store.expired(T0)
        assert [(m, b) for _, m, b in expired] == [("O" * 13, [BOB, ALICE])]
        store.purge([pk for pk, _, _ in expired])
    with database.session() as session:
        store = EhboxStore(session)
        assert store.copy(BOB, "O" * 13, "received") is None
        assert store.copy(BOB, "N" * 13, "received") is not None


def test_absences_are_kept_per_box(database: Database) -> None:
    absence = StoredAbsence("oo1", BOB, dt.date(2026, 3, 1), dt.date(2026, 3, 9), (ALICE,))
    with database.session() as session:
        EhboxStore(session).add_absence(absence, T0)
    with database.session() as session:
        store = EhboxStore(session)
        assert store.absences(BOB) == [absence]
        assert store.absences(ALICE) == []
        assert store.delete_absences(BOB, ["oo1", "nope"]) == ["oo1"]
        assert store.absences(BOB) == []


def test_a_period_that_ends_before_it_starts_is_refused(database: Database) -> None:
    absence = StoredAbsence("oo2", BOB, dt.date(2026, 3, 9), dt.date(2026, 3, 1), ())
    with pytest.raises(IntegrityError), database.session() as session:
        EhboxStore(session).add_absence(absence, T0)


def test_a_message_id_is_unique(database: Database) -> None:
    with database.session() as session:
        EhboxStore(session).add_message(_message("U" * 13))
    with pytest.raises(IntegrityError), database.session() as session:
        EhboxStore(session).add_message(_message("U" * 13))
