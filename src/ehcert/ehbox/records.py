"""What the mailbox's operations answer, free of the store, so the HTTP edge can name it
(``api`` imports no module that reaches a table)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ehcert.ehbox.model import BoxId, Folder, Page


@dataclass(frozen=True, slots=True)
class MessageView:
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
class CopyView:
    """A message as one box sees it: which box, which side, which folder."""

    box: str
    side: str
    folder: str
    message: MessageView


@dataclass(frozen=True, slots=True)
class PartView:
    """A sealed part: its name, size and declared digest; ``handle`` reads its chunks."""

    handle: int
    name: str
    size: int
    sha256: str
    chunks: int


@dataclass(frozen=True, slots=True)
class RecipientView:
    box: str
    is_copy: bool
    published_at: dt.datetime | None
    received_at: dt.datetime | None
    read_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SentMessage:
    message_id: str
    publication_id: str
    sender: BoxId
    recipients: tuple[BoxId, ...]
    size: int
    published_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Listing:
    folder: Folder
    total: int
    page: Page
    copies: tuple[CopyView, ...]


@dataclass(frozen=True, slots=True)
class FullMessage:
    copy: CopyView
    parts: tuple[PartView, ...]
    recipients: tuple[RecipientView, ...]


@dataclass(frozen=True, slots=True)
class BoxInfo:
    box: BoxId
    current_size: int
    max_size: int
    waiting: int
