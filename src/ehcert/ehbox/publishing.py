"""A checked publication written into the store: the message, its recipients and copies,
and the sealed parts streamed from the request chunk by chunk, each checked against the
size and SHA-256 digest its sender declared (``store.ehbox``). It runs inside the send's
one transaction (``ehbox.service``), so a part that does not match refuses the whole
message and nothing of it stays."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

from ehcert.ehbox.mailbox import Recipient
from ehcert.ehbox.model import Folder, Publication, malformed
from ehcert.store.ehbox import CHUNK_BYTES, EhboxStore, NewMessage


class PartSource(Protocol):
    """The sealed parts as they arrive: ``read(n)`` gives up to ``n`` bytes, b"" at the end."""

    def read(self, size: int) -> bytes: ...


def _read_exactly(source: PartSource, size: int, name: str, sink: Callable[[bytes], None]) -> str:
    """Stream ``size`` bytes of part ``name`` to ``sink`` in chunks; return its SHA-256."""
    digest = hashlib.sha256()
    left = size
    while left:
        data = source.read(min(CHUNK_BYTES, left))
        if not data:
            raise malformed("parts", f"Part {name} ended after {size - left} of its {size} bytes.")
        digest.update(data)
        sink(data)
        left -= len(data)
    return digest.hexdigest()


def store_message(
    store: EhboxStore,
    publication: Publication,
    message: NewMessage,
    recipients: Sequence[Recipient],
    source: PartSource,
) -> str:
    """Write ``message`` with a copy per recipient and one for the sender; its id."""
    message_pk = store.add_message(message)
    for ordinal, recipient in enumerate(recipients):
        store.add_recipient(
            message_pk,
            ordinal,
            str(recipient.box),
            is_copy=recipient.copy,
            published_at=message.published_at,
        )
        store.add_copy(message_pk, str(recipient.box), "received", Folder.INBOX.value)
    store.add_copy(message_pk, message.sender_box, "sent", Folder.SENTBOX.value)
    for ordinal, part in enumerate(publication.parts):
        part_pk = store.add_part(message_pk, ordinal, part.name, part.size, part.sha256)
        seq = 0

        def keep(data: bytes, part_pk: int = part_pk) -> None:
            nonlocal seq
            store.add_chunk(part_pk, seq, data)
            seq += 1

        digest = _read_exactly(source, part.size, part.name, keep)
        if digest != part.sha256:
            raise malformed(
                f"parts[{ordinal}].sha256",
                f"Part {part.name} does not match its declared SHA-256 digest; it was "
                "changed on the way or declared wrongly.",
            )
    if source.read(1):
        raise malformed("parts", "The request carries more bytes than its parts declare.")
    return message.message_id
