"""The store's rows as the records the edge sees (``ehbox.records``), which name no table."""

from __future__ import annotations

from ehcert.ehbox.mailbox import Absence
from ehcert.ehbox.model import BoxId
from ehcert.ehbox.records import CopyView, MessageView, PartView, RecipientView
from ehcert.store.ehbox import StoredAbsence, StoredCopy, StoredPart, StoredRecipient


def as_absence(stored: StoredAbsence) -> Absence:
    return Absence(
        stored.id,
        stored.start_date,
        stored.end_date,
        tuple(BoxId.parse(s, "substitutes") for s in stored.substitutes),
    )


def copy_view(stored: StoredCopy) -> CopyView:
    m = stored.message
    message = MessageView(
        m.message_id,
        m.publication_id,
        m.sender_box,
        m.sender_name,
        m.title,
        m.content_type,
        m.important,
        m.metadata,
        m.size,
        m.published_at,
        m.expires_at,
    )
    return CopyView(stored.box, stored.side, stored.folder, message)


def part_view(stored: StoredPart) -> PartView:
    return PartView(stored.pk, stored.name, stored.size, stored.sha256, stored.chunks)


def recipient_view(stored: StoredRecipient) -> RecipientView:
    return RecipientView(
        stored.box, stored.is_copy, stored.published_at, stored.received_at, stored.read_at
    )


def specification(copy: StoredCopy) -> dict[str, object]:
    spec = copy.message.metadata.get("content_specification")
    return spec if isinstance(spec, dict) else {}
