"""The eHealthBox's answers as JSON, named after the consultation XSD's elements.

A listed message (``GetMessagesListResponse/Message``) has its ``MessageId``, the box it
is in (``Destination``, only mine), the ``Sender``, ``MessageInfo`` (publication and
expiration dates, size), ``ContentInfo`` (title, MIME type, whether it has free
information and annexes), ``ContentSpecification`` and the ``CustomMeta``; a full
message adds the recipients and the sealed parts' names, sizes and SHA-256 digests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ehcert.ehbox.mailbox import Absence
from ehcert.ehbox.records import CopyView, FullMessage, Listing, RecipientView, SentMessage


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def sent_answer(sent: SentMessage) -> dict[str, Any]:
    return {
        "message_id": sent.message_id,
        "publication_id": sent.publication_id,
        "sender": str(sent.sender),
        "recipients": [str(r) for r in sent.recipients],
        "size": sent.size,
        "published_at": sent.published_at.isoformat(),
        "expires_at": sent.expires_at.isoformat(),
    }


def message_summary(copy: CopyView) -> dict[str, Any]:
    message = copy.message
    metadata = message.metadata
    document = metadata.get("document")
    document = document if isinstance(document, dict) else {}
    annexes = metadata.get("annexes")
    return {
        "message_id": message.message_id,
        "box": copy.box,
        "folder": copy.folder,
        "sender": {
            "box": message.sender_box,
            "name": message.sender_name,
            "person_in_organisation": metadata.get("person_in_organisation"),
        },
        "message_info": {
            "publication_date": message.published_at.date().isoformat(),
            "published_at": message.published_at.isoformat(),
            "expiration_date": message.expires_at.date().isoformat(),
            "size": message.size,
        },
        "content_info": {
            "title": message.title,
            "mime_type": document.get("mime_type"),
            "has_free_informations": metadata.get("free_information") is not None,
            "has_annex": bool(annexes),
            "patient": bool(metadata.get("patient")),
        },
        "content_specification": metadata.get("content_specification"),
        "custom_metas": metadata.get("custom_metas", []),
    }


def listing_answer(listing: Listing) -> dict[str, Any]:
    return {
        "source": listing.folder.value,
        "start_index": listing.page.start,
        "end_index": listing.page.end,
        "total": listing.total,
        "messages": [message_summary(c) for c in listing.copies],
    }


def recipient_row(recipient: RecipientView) -> dict[str, Any]:
    return {
        "recipient": recipient.box,
        "copy": recipient.is_copy,
        "published": _iso(recipient.published_at),
        "received": _iso(recipient.received_at),
        "read": _iso(recipient.read_at),
    }


def full_message_answer(full: FullMessage) -> dict[str, Any]:
    answer = message_summary(full.copy)
    metadata = full.copy.message.metadata
    answer.update(
        {
            "publication_id": full.copy.message.publication_id,
            "document": metadata.get("document"),
            "free_information": metadata.get("free_information"),
            "table_title": metadata.get("table_title"),
            "table_rows": metadata.get("table_rows", 0),
            "annexes": metadata.get("annexes", []),
            "destinations": metadata.get("destinations", []),
            "parts": [{"name": p.name, "size": p.size, "sha256": p.sha256} for p in full.parts],
        }
    )
    return answer


def absence_answer(absence: Absence) -> dict[str, Any]:
    return {
        "ooo_id": absence.id,
        "start_date": absence.start_date.isoformat(),
        "end_date": absence.end_date.isoformat(),
        "substitutes": [str(s) for s in absence.substitutes],
    }
