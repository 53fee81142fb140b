"""The eHealthBox's operations as the HTTP edge calls them, each in its unit of work.

A send is one transaction (``store.unit_of_work.Transactions.audited``): the decisions of
``ehbox.mailbox`` first (boxes, recipients and their ETKs, size, quotas, absences; the
boxes are locked before their sizes are read, so two concurrent sends to a box near its
quota cannot both pass: ``EhboxStore.lock_boxes``), then
the message, its recipients and copies, then the sealed parts streamed from the request
into chunks (``store.ehbox``), each checked against the size and SHA-256 digest the
sender declared. Any refusal rolls everything back, so nothing of a refused send is
stored, and is audited afterwards in its own transaction. A crash mid-send leaves no
trace either: the transaction never committed.

Reads record when a recipient's list first showed the message (received) and when it
first got the full message (read), once each; the acknowledgment status shows the
sender those of the three receipts (publication, received, read) it asked for. Every
decision is audited with ids, boxes and sizes, never with content.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from ehcert.core.audit import REFUSED, AuditSink, refusal_detail
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import InstitutionId
from ehcert.core.identity import Identity
from ehcert.ehbox.adapters import RegistryBoxDirectory
from ehcert.ehbox.mailbox import (
    Absence,
    RecipientsOutOfOffice,
    absent_recipients,
    accessible_boxes,
    check_quotas,
    choose_box,
    person_name,
    resolve_recipients,
)
from ehcert.ehbox.model import (
    MOVES,
    BoxId,
    Folder,
    Page,
    Publication,
    malformed,
    new_message_id,
)
from ehcert.ehbox.ports import EtkAvailable
from ehcert.ehbox.publishing import PartSource, store_message
from ehcert.ehbox.records import (
    BoxInfo,
    FullMessage,
    Listing,
    PartView,
    RecipientView,
    SentMessage,
)
from ehcert.ehbox.views import as_absence, copy_view, part_view, recipient_view, specification
from ehcert.store.ehbox import (
    PURGE_BATCH,
    EhboxStore,
    NewMessage,
    StoredAbsence,
    StoredCopy,
)
from ehcert.store.unit_of_work import Transactions

T = TypeVar("T")

SENT = "ehbox-sent"
MOVED = "ehbox-moved"
DELETED = "ehbox-deleted"
EXPIRED = "ehbox-expired"
OOO_INSERTED = "ehbox-ooo-inserted"
OOO_DELETED = "ehbox-ooo-deleted"


@dataclass(frozen=True, slots=True)
class EhboxLimits:
    max_recipients: int = 100
    max_message_bytes: int = 128 * 1024 * 1024
    max_box_bytes: int = 1024 * 1024 * 1024
    retention: dt.timedelta = dt.timedelta(days=365)


class EhboxService:
    """Send, list, read, move, delete, receipts, box info, out of office and retention."""

    def __init__(
        self, transactions: Transactions, etk_available: EtkAvailable, limits: EhboxLimits
    ) -> None:
        self._transactions = transactions
        self._etk_available = etk_available
        self.limits = limits

    # -- publication -------------------------------------------------------------------

    def send(
        self, identity: Identity, publication: Publication, source: PartSource, now: dt.datetime
    ) -> SentMessage:
        """``sendMessage``: all or nothing (module docstring)."""
        self.purge(now)
        limits = self.limits

        def work(
            store: EhboxStore, directory: RegistryBoxDirectory, audit: AuditSink
        ) -> SentMessage:
            sender = choose_box(publication.sender_box, accessible_boxes(identity, directory, now))
            if publication.size > limits.max_message_bytes:
                raise EhcertError(
                    ErrorKind.PAYLOAD_TOO_LARGE,
                    f"The message's parts total {publication.size} bytes; the limit is "
                    f"{limits.max_message_bytes}.",
                    field="parts",
                )
            recipients = resolve_recipients(
                publication.destinations, directory, self._etk_available, now
            )
            boxes = [sender, *(r.box for r in recipients)]
            # Held to the commit: a concurrent send to these boxes waits, then sees this one.
            store.lock_boxes(str(box) for box in boxes)
            sizes = {str(box): store.box_size(str(box)) for box in boxes}
            check_quotas(recipients, sender, sizes, publication.size, limits.max_box_bytes)
            absences = {
                str(r.box): [as_absence(a) for a in store.absences(str(r.box))] for r in recipients
            }
            absent = absent_recipients(recipients, absences, now.date())
            if absent:
                raise RecipientsOutOfOffice(absent)
            sender_name = (
                person_name(directory, sender.value)
                if sender.is_person
                else directory.institution_name(InstitutionId(sender.type, sender.value))
            ) or str(sender)
            metadata = publication.clear_metadata()
            if not sender.is_person and identity.ssin is not None:
                metadata["person_in_organisation"] = person_name(directory, identity.ssin)
            metadata["destinations"] = [
                {"box": str(r.box), "name": r.name, "copy": r.copy} for r in recipients
            ]
            expires = now + limits.retention
            message_id = store_message(
                store,
                publication,
                NewMessage(
                    message_id=new_message_id(),
                    publication_id=publication.publication_id,
                    sender_box=str(sender),
                    sender_name=sender_name[:250],
                    title=publication.document.title,
                    content_type=publication.specification.content_type.value,
                    important=publication.specification.important,
                    metadata=metadata,
                    size=publication.size,
                    published_at=now,
                    expires_at=expires,
                ),
                recipients,
                source,
            )
            sent = SentMessage(
                message_id,
                publication.publication_id,
                sender,
                tuple(r.box for r in recipients),
                publication.size,
                now,
                expires,
            )
            audit.record(
                SENT,
                identity.actor,
                str(sender),
                {
                    "message_id": message_id,
                    "publication_id": publication.publication_id,
                    "recipients": [str(r.box) for r in recipients],
                    "parts": len(publication.parts),
                    "size": publication.size,
                },
                now,
            )
            return sent

        return self._audited_at(SENT, identity, now, work)

    def _audited_at(
        self,
        action: str,
        identity: Identity,
        now: dt.datetime,
        work: Callable[[EhboxStore, RegistryBoxDirectory, AuditSink], T],
    ) -> T:
        def unit(session: Session, audit: AuditSink) -> T:
            try:
                return work(EhboxStore(session), RegistryBoxDirectory(session), audit)
            except EhcertError as refusal:
                detail = refusal_detail(action, refusal)
                if isinstance(refusal, RecipientsOutOfOffice):
                    detail["absent"] = [str(a.box) for a in refusal.absent]
                audit.record(REFUSED, identity.actor, "ehbox", detail, now)
                raise

        return self._transactions.audited(unit)

    def _read(self, work: Callable[[EhboxStore, RegistryBoxDirectory], T]) -> T:
        with self._transactions.session() as session:
            return work(EhboxStore(session), RegistryBoxDirectory(session))

    # -- consultation --------------------------------------------------------------------

    def boxes(self, identity: Identity, now: dt.datetime) -> list[BoxId]:
        return self._read(lambda _store, directory: accessible_boxes(identity, directory, now))

    def _box(
        self,
        identity: Identity,
        requested: BoxId | None,
        directory: RegistryBoxDirectory,
        now: dt.datetime,
    ) -> BoxId:
        return choose_box(requested, accessible_boxes(identity, directory, now))

    def list_messages(
        self,
        identity: Identity,
        requested: BoxId | None,
        folder: Folder,
        page: Page,
        now: dt.datetime,
        *,
        all_boxes: bool = False,
    ) -> Listing:
        """``getMessagesList`` (one box) or ``getAllEhboxesMessagesList`` (every box)."""

        def work(store: EhboxStore, directory: RegistryBoxDirectory) -> Listing:
            accessible = accessible_boxes(identity, directory, now)
            boxes = accessible if all_boxes else [choose_box(requested, accessible)]
            names = [str(b) for b in boxes]
            copies = store.page(names, folder.value, page.offset, page.limit)
            total = store.count(names, folder.value)
            for box in names:
                listed = [c.message.pk for c in copies if c.box == box and c.side == "received"]
                store.mark(listed, box, "received", now)
            return Listing(folder, total, page, tuple(copy_view(c) for c in copies))

        with self._transactions.session() as session:
            return work(EhboxStore(session), RegistryBoxDirectory(session))

    def full_message(
        self,
        identity: Identity,
        requested: BoxId | None,
        folder: Folder,
        message_id: str,
        now: dt.datetime,
    ) -> FullMessage:
        """``getFullMessage``: the clear metadata and the parts' sizes and digests; the
        read receipt is recorded here, once."""
        with self._transactions.session() as session:
            store, directory = EhboxStore(session), RegistryBoxDirectory(session)
            box = self._box(identity, requested, directory, now)
            copy = self._copy(store, box, folder, message_id)
            if copy.side == "received":
                store.mark([copy.message.pk], str(box), "received", now)
                store.mark([copy.message.pk], str(box), "read", now)
            return FullMessage(
                copy_view(copy),
                tuple(part_view(p) for p in store.parts(copy.message.pk)),
                tuple(recipient_view(r) for r in store.recipients(copy.message.pk)),
            )

    def part_chunks(self, part: PartView) -> Iterator[bytes]:
        """The stored bytes of one part, one chunk (and one short read) at a time."""
        for seq in range(part.chunks):
            with self._transactions.session() as session:
                data = EhboxStore(session).chunk(part.handle, seq)
            if data is None:
                return
            yield data

    @staticmethod
    def _copy(store: EhboxStore, box: BoxId, folder: Folder, message_id: str) -> StoredCopy:
        copy = store.copy(str(box), message_id, folder.side)
        if copy is None or copy.folder != folder.value:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"There is no message {message_id} in the {folder.value} of {box}.",
                field="message_id",
            )
        return copy

    def history(
        self,
        identity: Identity,
        requested: BoxId | None,
        folder: Folder,
        message_id: str,
        now: dt.datetime,
    ) -> list[str]:
        """``getMessageHistory``: the ids of the sender's messages with this publication id."""

        def work(store: EhboxStore, directory: RegistryBoxDirectory) -> list[str]:
            box = self._box(identity, requested, directory, now)
            copy = self._copy(store, box, folder, message_id)
            return store.history(copy.message.publication_id, copy.message.sender_box)

        return self._read(work)

    def acknowledgments(
        self,
        identity: Identity,
        requested: BoxId | None,
        message_id: str,
        page: Page,
        now: dt.datetime,
    ) -> tuple[int, list[RecipientView]]:
        """``getMessageAcknowledgmentsStatus``: one row per recipient of a sent message."""

        def work(
            store: EhboxStore, directory: RegistryBoxDirectory
        ) -> tuple[int, list[RecipientView]]:
            box = self._box(identity, requested, directory, now)
            copy = store.copy(str(box), message_id, "sent")
            if copy is None:
                raise EhcertError(
                    ErrorKind.NOT_FOUND,
                    f"{box} has sent no message {message_id}.",
                    field="message_id",
                )
            everyone = store.recipients(copy.message.pk)
            rows = everyone[page.offset : page.offset + page.limit]
            spec = specification(copy)
            return len(everyone), [
                RecipientView(
                    r.box,
                    r.is_copy,
                    r.published_at if spec.get("publication_receipt") else None,
                    r.received_at if spec.get("received_receipt") else None,
                    r.read_at if spec.get("read_receipt") else None,
                )
                for r in rows
            ]

        return self._read(work)

    def box_info(self, identity: Identity, requested: BoxId | None, now: dt.datetime) -> BoxInfo:
        def work(store: EhboxStore, directory: RegistryBoxDirectory) -> BoxInfo:
            box = self._box(identity, requested, directory, now)
            return BoxInfo(
                box, store.box_size(str(box)), self.limits.max_box_bytes, store.waiting(str(box))
            )

        return self._read(work)

    # -- changes -----------------------------------------------------------------------

    def move(
        self,
        identity: Identity,
        requested: BoxId | None,
        *,
        source: Folder,
        destination: Folder,
        message_ids: Sequence[str],
        now: dt.datetime,
    ) -> list[str]:
        """``moveMessage``: to the bin and back, all the ids or none."""
        if destination not in MOVES[source]:
            raise malformed(
                "destination",
                f"A message in {source.value} can move only to "
                f"{', '.join(f.value for f in MOVES[source])}.",
            )

        def work(store: EhboxStore, directory: RegistryBoxDirectory, audit: AuditSink) -> list[str]:
            box = self._box(identity, requested, directory, now)
            copies = self._copies(store, box, source, message_ids)
            for copy in copies:
                store.move(copy.pk, destination.value)
            audit.record(
                MOVED,
                identity.actor,
                str(box),
                {"message_ids": list(message_ids), "from": source.value, "to": destination.value},
                now,
            )
            return list(message_ids)

        return self._audited_at(MOVED, identity, now, work)

    def _copies(
        self, store: EhboxStore, box: BoxId, folder: Folder, ids: Sequence[str]
    ) -> list[StoredCopy]:
        found, missing = [], []
        for message_id in ids:
            copy = store.copy(str(box), message_id, folder.side)
            if copy is None or copy.folder != folder.value:
                missing.append(message_id)
            else:
                found.append(copy)
        if missing:
            raise EhcertError(
                ErrorKind.NOT_FOUND,
                f"Nothing was changed: no message {', '.join(missing)} in the "
                f"{folder.value} of {box}.",
                field="message_ids",
            )
        return found

    def delete(
        self,
        identity: Identity,
        requested: BoxId | None,
        source: Folder,
        message_ids: Sequence[str],
        now: dt.datetime,
    ) -> list[str]:
        """``deleteMessage``: from INBOX or SENTBOX to its bin; from a bin, for good."""

        def work(store: EhboxStore, directory: RegistryBoxDirectory, audit: AuditSink) -> list[str]:
            box = self._box(identity, requested, directory, now)
            copies = self._copies(store, box, source, message_ids)
            gone = []
            for copy in copies:
                if source.is_bin:
                    if store.delete_copy(copy):
                        gone.append(copy.message.message_id)
                else:
                    store.move(copy.pk, MOVES[source][0].value)
            audit.record(
                DELETED,
                identity.actor,
                str(box),
                {
                    "message_ids": list(message_ids),
                    "from": source.value,
                    "final": source.is_bin,
                    "messages_removed": gone,
                },
                now,
            )
            return list(message_ids)

        return self._audited_at(DELETED, identity, now, work)

    # -- out of office -------------------------------------------------------------------

    def insert_absence(
        self,
        identity: Identity,
        requested: BoxId | None,
        *,
        start: dt.date,
        end: dt.date,
        substitutes: Sequence[BoxId],
        now: dt.datetime,
    ) -> Absence:
        """``insertOoO``: a period (start and end included) and who replaces the box."""
        if end < start:
            raise malformed("end_date", "Field end_date must not be before start_date.")

        def work(store: EhboxStore, directory: RegistryBoxDirectory, audit: AuditSink) -> Absence:
            box = self._box(identity, requested, directory, now)
            absence = StoredAbsence(
                new_message_id(), str(box), start, end, tuple(str(s) for s in substitutes)
            )
            store.add_absence(absence, now)
            audit.record(
                OOO_INSERTED,
                identity.actor,
                str(box),
                {"ooo_id": absence.id, "start": start.isoformat(), "end": end.isoformat()},
                now,
            )
            return as_absence(absence)

        return self._audited_at(OOO_INSERTED, identity, now, work)

    def absences(
        self, identity: Identity, requested: BoxId | None, now: dt.datetime
    ) -> list[Absence]:
        def work(store: EhboxStore, directory: RegistryBoxDirectory) -> list[Absence]:
            box = self._box(identity, requested, directory, now)
            return [as_absence(a) for a in store.absences(str(box))]

        return self._read(work)

    def delete_absences(
        self, identity: Identity, requested: BoxId | None, ids: Sequence[str], now: dt.datetime
    ) -> list[str]:
        def work(store: EhboxStore, directory: RegistryBoxDirectory, audit: AuditSink) -> list[str]:
            box = self._box(identity, requested, directory, now)
            deleted = store.delete_absences(str(box), ids)
            missing = sorted(set(ids) - set(deleted))
            if missing:
                raise EhcertError(
                    ErrorKind.NOT_FOUND,
                    f"{box} has no out-of-office period {', '.join(missing)}.",
                    field="ooo_ids",
                )
            audit.record(OOO_DELETED, identity.actor, str(box), {"ooo_ids": list(ids)}, now)
            return deleted

        return self._audited_at(OOO_DELETED, identity, now, work)

    # -- retention -----------------------------------------------------------------------

    def purge(self, now: dt.datetime) -> int:
        """Remove the messages past their expiration date (a batch), each audited; a send
        runs one batch first, so the quotas it checks never count expired mail."""

        def work(session: Session, audit: AuditSink) -> int:
            store = EhboxStore(session)
            expired = store.expired(now)
            store.purge([pk for pk, _, _ in expired])
            for _, message_id, boxes in expired:
                audit.record(EXPIRED, "ehbox:retention", message_id, {"boxes": boxes}, now)
            return len(expired)

        return self._transactions.audited(work)

    def purge_expired(self, now: dt.datetime, *, max_batches: int = 50) -> int:
        """Purge batch after batch until no expired message is left (or ``max_batches``,
        so one run of the platform's scheduled job, ``platform.schedule``, stays short;
        the rest goes at its next turn). How many messages went."""
        total = 0
        for _ in range(max_batches):
            purged = self.purge(now)
            total += purged
            if purged < PURGE_BATCH:
                break
        return total
