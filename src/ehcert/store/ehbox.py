"""The eHealthBox's tables: messages, sealed parts in chunks, recipients, copies, absences.

A message is stored once (``ehbox_messages``) with its sealed parts (``ehbox_parts``),
whose bytes are kept in chunks of at most :data:`CHUNK_BYTES` (``ehbox_chunks``): a part
is written and read one chunk at a time, so no operation holds a whole part in memory,
on SQLite as on PostgreSQL, and every node of a multi-node platform sees the same bytes.
A send is one transaction, so it is atomic across a crash: the whole message or nothing.

Each box that sees a message has a copy (``ehbox_copies``): every recipient one on the
``received`` side (INBOX, or BININBOX once binned), the sender one on the ``sent`` side.
Receipts live with the recipient (``ehbox_recipients``) and are set once, by conditional
UPDATEs (``... IS NULL``), so two concurrent reads record one time. When the last copy
of a message goes, the message and its parts go with it (foreign keys cascade).

Concurrency: a send locks the boxes it touches (:meth:`EhboxStore.lock_boxes`) before it
reads their sizes for the quota check, so two sends to one box near its quota are judged
one after the other, on SQLite (the database's write lock) and on PostgreSQL (a row lock
per box, in box order so that two sends never wait for each other in a circle). A purge
takes the expired messages it deletes with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
the purges of several API processes never delete (and audit) one message twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from ehcert.store.columns import require_aware
from ehcert.store.db import affected_rows, dialect_insert, lock_for_write
from ehcert.store.models import (
    EhboxBoxRow,
    EhboxChunkRow,
    EhboxCopyRow,
    EhboxMessageRow,
    EhboxOutOfOfficeRow,
    EhboxPartRow,
    EhboxRecipientRow,
)

CHUNK_BYTES = 256 * 1024
PURGE_BATCH = 200


@dataclass(frozen=True, slots=True)
class NewMessage:
    message_id: str
    publication_id: str
    sender_box: str
    sender_name: str
    title: str
    content_type: str
    important: bool
    metadata: dict[str, object]
    size: int
    published_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class StoredMessage:
    pk: int
    message_id: str
    publication_id: str
    sender_box: str
    sender_name: str
    title: str
    content_type: str
    important: bool
    metadata: dict[str, object]
    size: int
    published_at: dt.datetime
    expires_at: dt.datetime

    @classmethod
    def from_row(cls, row: EhboxMessageRow) -> StoredMessage:
        return cls(
            row.id,
            row.message_id,
            row.publication_id,
            row.sender_box,
            row.sender_name,
            row.title,
            row.content_type,
            row.important,
            json.loads(row.metadata_json),
            row.size,
            row.published_at,
            row.expires_at,
        )


@dataclass(frozen=True, slots=True)
class StoredCopy:
    pk: int
    box: str
    side: str
    folder: str
    message: StoredMessage


@dataclass(frozen=True, slots=True)
class StoredPart:
    pk: int
    ordinal: int
    name: str
    size: int
    sha256: str
    chunks: int


@dataclass(frozen=True, slots=True)
class StoredRecipient:
    box: str
    is_copy: bool
    published_at: dt.datetime | None
    received_at: dt.datetime | None
    read_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class StoredAbsence:
    id: str
    box: str
    start_date: dt.date
    end_date: dt.date
    substitutes: tuple[str, ...]


class EhboxStore:
    """Repository of one session; every method works inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # -- writing a message -------------------------------------------------------------

    def add_message(self, message: NewMessage) -> int:
        row = EhboxMessageRow(
            message_id=message.message_id,
            publication_id=message.publication_id,
            sender_box=message.sender_box,
            sender_name=message.sender_name,
            title=message.title,
            content_type=message.content_type,
            important=message.important,
            metadata_json=json.dumps(message.metadata, sort_keys=True),
            size=message.size,
            published_at=require_aware(message.published_at, "published_at"),
            expires_at=require_aware(message.expires_at, "expires_at"),
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def add_part(self, message_pk: int, ordinal: int, name: str, size: int, sha256: str) -> int:
        row = EhboxPartRow(
            message_pk=message_pk, ordinal=ordinal, name=name, size=size, sha256=sha256
        )
        self._session.add(row)
        self._session.flush()
        return row.id

    def add_chunk(self, part_pk: int, seq: int, data: bytes) -> None:
        """One chunk, inserted at once and not kept in the session (bounded memory)."""
        self._session.connection().execute(
            insert(EhboxChunkRow).values(part_pk=part_pk, seq=seq, data=data)
        )

    def add_recipient(
        self,
        message_pk: int,
        ordinal: int,
        box: str,
        *,
        is_copy: bool,
        published_at: dt.datetime | None,
    ) -> None:
        self._session.connection().execute(
            insert(EhboxRecipientRow).values(
                message_pk=message_pk,
                ordinal=ordinal,
                box=box,
                is_copy=is_copy,
                published_at=published_at,
                received_at=None,
                read_at=None,
            )
        )

    def add_copy(self, message_pk: int, box: str, side: str, folder: str) -> None:
        self._session.connection().execute(
            insert(EhboxCopyRow).values(message_pk=message_pk, box=box, side=side, folder=folder)
        )

    def lock_boxes(self, boxes: Iterable[str]) -> None:
        """Hold ``boxes`` until the transaction ends, so what is read of them next (their
        sizes) cannot change before the commit (module docstring: concurrency).

        SQLite: the write lock of the whole database (``db.lock_for_write``). PostgreSQL:
        each box's row, made on first use, locked in box order.
        """
        names = sorted(set(boxes))
        if not names:
            return
        lock_for_write(self._session)
        insert_row = dialect_insert(self._session)
        self._session.execute(
            insert_row(EhboxBoxRow)
            .values([{"box": name} for name in names])
            .on_conflict_do_nothing()
        )
        self._session.execute(
            select(EhboxBoxRow.box)
            .where(EhboxBoxRow.box.in_(names))
            .order_by(EhboxBoxRow.box)
            .with_for_update()
        ).all()

    # -- reading ---------------------------------------------------------------------

    def box_size(self, box: str) -> int:
        total = self._session.scalar(
            select(func.coalesce(func.sum(EhboxMessageRow.size), 0))
            .join(EhboxCopyRow, EhboxCopyRow.message_pk == EhboxMessageRow.id)
            .where(EhboxCopyRow.box == box)
        )
        return int(total or 0)

    def waiting(self, box: str) -> int:
        """Messages in the box's inbox that it has not read yet (``NbrMessagesInStandBy``)."""
        count = self._session.scalar(
            select(func.count())
            .select_from(EhboxCopyRow)
            .join(
                EhboxRecipientRow,
                (EhboxRecipientRow.message_pk == EhboxCopyRow.message_pk)
                & (EhboxRecipientRow.box == EhboxCopyRow.box),
            )
            .where(
                EhboxCopyRow.box == box,
                EhboxCopyRow.folder == "INBOX",
                EhboxRecipientRow.read_at.is_(None),
            )
        )
        return int(count or 0)

    def count(self, boxes: Sequence[str], folder: str) -> int:
        total = self._session.scalar(
            select(func.count())
            .select_from(EhboxCopyRow)
            .where(EhboxCopyRow.box.in_(boxes), EhboxCopyRow.folder == folder)
        )
        return int(total or 0)

    def page(self, boxes: Sequence[str], folder: str, offset: int, limit: int) -> list[StoredCopy]:
        """Copies in ``folder`` of ``boxes``, newest first (message order breaks ties)."""
        rows = self._session.execute(
            select(EhboxCopyRow, EhboxMessageRow)
            .join(EhboxMessageRow, EhboxMessageRow.id == EhboxCopyRow.message_pk)
            .where(EhboxCopyRow.box.in_(boxes), EhboxCopyRow.folder == folder)
            .order_by(EhboxCopyRow.message_pk.desc(), EhboxCopyRow.box)
            .offset(offset)
            .limit(limit)
        ).all()
        return [
            StoredCopy(c.id, c.box, c.side, c.folder, StoredMessage.from_row(m)) for c, m in rows
        ]

    def copy(self, box: str, message_id: str, side: str) -> StoredCopy | None:
        found = self._session.execute(
            select(EhboxCopyRow, EhboxMessageRow)
            .join(EhboxMessageRow, EhboxMessageRow.id == EhboxCopyRow.message_pk)
            .where(
                EhboxCopyRow.box == box,
                EhboxCopyRow.side == side,
                EhboxMessageRow.message_id == message_id,
            )
        ).one_or_none()
        if found is None:
            return None
        row, message = found
        return StoredCopy(row.id, row.box, row.side, row.folder, StoredMessage.from_row(message))

    def parts(self, message_pk: int) -> list[StoredPart]:
        chunks = (
            select(func.count())
            .where(EhboxChunkRow.part_pk == EhboxPartRow.id)
            .correlate(EhboxPartRow)
            .scalar_subquery()
        )
        rows = self._session.execute(
            select(EhboxPartRow, chunks)
            .where(EhboxPartRow.message_pk == message_pk)
            .order_by(EhboxPartRow.ordinal)
        ).all()
        return [StoredPart(p.id, p.ordinal, p.name, p.size, p.sha256, int(n)) for p, n in rows]

    def chunk(self, part_pk: int, seq: int) -> bytes | None:
        data = self._session.scalar(
            select(EhboxChunkRow.data).where(
                EhboxChunkRow.part_pk == part_pk, EhboxChunkRow.seq == seq
            )
        )
        return None if data is None else bytes(data)

    def recipients(
        self, message_pk: int, offset: int = 0, limit: int | None = None
    ) -> list[StoredRecipient]:
        statement = (
            select(EhboxRecipientRow)
            .where(EhboxRecipientRow.message_pk == message_pk)
            .order_by(EhboxRecipientRow.ordinal)
            .offset(offset)
        )
        if limit is not None:
            statement = statement.limit(limit)
        return [
            StoredRecipient(r.box, r.is_copy, r.published_at, r.received_at, r.read_at)
            for r in self._session.scalars(statement)
        ]

    def history(self, publication_id: str, sender_box: str) -> list[str]:
        """Message ids of the sender's publications under one publication id, oldest first."""
        return list(
            self._session.scalars(
                select(EhboxMessageRow.message_id)
                .where(
                    EhboxMessageRow.publication_id == publication_id,
                    EhboxMessageRow.sender_box == sender_box,
                )
                .order_by(EhboxMessageRow.id)
            )
        )

    # -- changing ---------------------------------------------------------------------

    def mark(self, message_pks: Iterable[int], box: str, receipt: str, now: dt.datetime) -> None:
        """Record the ``received`` or ``read`` time of ``box`` once; later calls keep it."""
        column = {"received": EhboxRecipientRow.received_at, "read": EhboxRecipientRow.read_at}[
            receipt
        ]
        pks = list(message_pks)
        if not pks:
            return
        self._session.execute(
            update(EhboxRecipientRow)
            .where(
                EhboxRecipientRow.message_pk.in_(pks),
                EhboxRecipientRow.box == box,
                column.is_(None),
            )
            .values({column.key: require_aware(now, "now")})
            .execution_options(synchronize_session=False)
        )

    def move(self, copy_pk: int, folder: str) -> None:
        self._session.execute(
            update(EhboxCopyRow)
            .where(EhboxCopyRow.id == copy_pk)
            .values(folder=folder)
            .execution_options(synchronize_session=False)
        )

    def delete_copy(self, copy: StoredCopy) -> bool:
        """Remove a copy; the message goes too when no copy of it is left. True if it did."""
        self._session.execute(
            delete(EhboxCopyRow)
            .where(EhboxCopyRow.id == copy.pk)
            .execution_options(synchronize_session=False)
        )
        left = self._session.scalar(
            select(func.count())
            .select_from(EhboxCopyRow)
            .where(EhboxCopyRow.message_pk == copy.message.pk)
        )
        if left:
            return False
        self._delete_messages([copy.message.pk])
        return True

    def _delete_messages(self, pks: Sequence[int]) -> None:
        # Children explicitly: SQLite enforces ON DELETE CASCADE only with foreign keys on,
        # and doing it here keeps the order obvious on both backends.
        parts = select(EhboxPartRow.id).where(EhboxPartRow.message_pk.in_(pks))
        options = {"synchronize_session": False}
        self._session.execute(
            delete(EhboxChunkRow)
            .where(EhboxChunkRow.part_pk.in_(parts))
            .execution_options(**options)
        )
        for table in (EhboxPartRow, EhboxRecipientRow, EhboxCopyRow):
            self._session.execute(
                delete(table).where(table.message_pk.in_(pks)).execution_options(**options)
            )
        self._session.execute(
            delete(EhboxMessageRow).where(EhboxMessageRow.id.in_(pks)).execution_options(**options)
        )

    def expired(
        self, now: dt.datetime, limit: int = PURGE_BATCH
    ) -> list[tuple[int, str, list[str]]]:
        """Messages past their expiration: (pk, message id, boxes holding a copy), each
        held for this transaction's purge and skipped if another purge holds it already
        (module docstring: concurrency)."""
        due = (
            select(EhboxMessageRow.id)
            .where(EhboxMessageRow.expires_at <= require_aware(now, "now"))
            .limit(1)
        )
        if self._session.scalar(due) is None:
            return []  # the usual answer, found without taking SQLite's write lock
        lock_for_write(self._session)
        rows = self._session.execute(
            select(EhboxMessageRow.id, EhboxMessageRow.message_id)
            .where(EhboxMessageRow.expires_at <= require_aware(now, "now"))
            .order_by(EhboxMessageRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        found = []
        for pk, message_id in rows:
            boxes = sorted(
                set(
                    self._session.scalars(
                        select(EhboxCopyRow.box).where(EhboxCopyRow.message_pk == pk)
                    )
                )
            )
            found.append((pk, message_id, boxes))
        return found

    def purge(self, pks: Sequence[int]) -> None:
        if pks:
            self._delete_messages(pks)

    # -- out of office -----------------------------------------------------------------

    def add_absence(self, absence: StoredAbsence, now: dt.datetime) -> None:
        self._session.connection().execute(
            insert(EhboxOutOfOfficeRow).values(
                id=absence.id,
                box=absence.box,
                start_date=absence.start_date,
                end_date=absence.end_date,
                substitutes_json=json.dumps(list(absence.substitutes)),
                created_at=require_aware(now, "now"),
            )
        )

    def absences(self, box: str) -> list[StoredAbsence]:
        rows = self._session.scalars(
            select(EhboxOutOfOfficeRow)
            .where(EhboxOutOfOfficeRow.box == box)
            .order_by(EhboxOutOfOfficeRow.start_date, EhboxOutOfOfficeRow.id)
        )
        return [
            StoredAbsence(
                r.id, r.box, r.start_date, r.end_date, tuple(json.loads(r.substitutes_json))
            )
            for r in rows
        ]

    def delete_absences(self, box: str, ids: Sequence[str]) -> list[str]:
        """Delete the named absences of ``box``; return the ids that were there."""
        existing = [a.id for a in self.absences(box) if a.id in set(ids)]
        if existing:
            result = self._session.execute(
                delete(EhboxOutOfOfficeRow)
                .where(EhboxOutOfOfficeRow.box == box, EhboxOutOfOfficeRow.id.in_(existing))
                .execution_options(synchronize_session=False)
            )
            affected_rows(result)
        return existing
