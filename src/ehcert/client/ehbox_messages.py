"""The eHealthBox's messages as the SDK writes and reads them, apart from the wire.

A :class:`Draft` is what a sender writes: recipients and copies, a title (in clear, as
in ehBox), the document, annexes, free text or a table, a patient's SSIN, receipts.
:func:`encryptable_parts` lists its encryptable parts in the order the publication
names them (``ehbox.model``: ``document``, ``free-text``, ``table/<row>/left|right``,
``patient``, ``annex/<i>/title``, ``annex/<i>/content``); each is sealed on its own.

An :class:`OpenedMessage` is what a reader gets back: per part the data verdict and
the trust verdict of :func:`ehcert.client.etee.unseal`, plus whether the bytes match the
SHA-256 digest the sender declared (a part changed in storage fails that check even
before its signature does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ehcert.client.etee.report import UnsealReport
from ehcert.core.errors import EhcertError, ErrorKind

RECEIPTS = ("publication", "received", "read")
PARTS_MEDIA_TYPE = "application/vnd.ehcert.ehbox-parts"


@dataclass(frozen=True, slots=True)
class Annex:
    title: str
    content: bytes
    download_file_name: str
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Draft:
    """A message to send. Boxes are written ``SSIN=<ssin>[:quality]`` or ``TYPE=ID``."""

    recipients: Sequence[str]
    title: str
    content: bytes
    download_file_name: str = "document.txt"
    mime_type: str = "text/plain"
    copies: Sequence[str] = ()
    annexes: Sequence[Annex] = ()
    free_text: str | None = None
    table: Sequence[tuple[str, str]] = ()
    table_title: str | None = None
    patient_ssin: str | None = None
    receipts: frozenset[str] = frozenset()
    important: bool = False
    application_name: str | None = None
    content_type: str = "DOCUMENT"
    custom_metas: Sequence[tuple[str, str]] = ()
    publication_id: str | None = None
    sender_box: str | None = None

    def __post_init__(self) -> None:
        unknown = set(self.receipts) - set(RECEIPTS)
        if unknown:
            raise ValueError(f"receipts must be among {', '.join(RECEIPTS)}")
        if self.free_text is not None and self.table:
            raise ValueError("free information is a free text or a table, not both")
        if not self.recipients and not self.copies:
            raise ValueError("a message needs at least one recipient")


def encryptable_parts(draft: Draft) -> list[tuple[str, bytes]]:
    """The parts to seal, named and ordered as the publication lists them."""
    parts = [("document", draft.content)]
    if draft.free_text is not None:
        parts.append(("free-text", draft.free_text.encode("utf-8")))
    for row, (left, right) in enumerate(draft.table):
        parts += [(f"table/{row}/left", left.encode()), (f"table/{row}/right", right.encode())]
    if draft.patient_ssin is not None:
        parts.append(("patient", draft.patient_ssin.encode("ascii")))
    for index, annex in enumerate(draft.annexes):
        parts += [
            (f"annex/{index}/title", annex.title.encode()),
            (f"annex/{index}/content", annex.content),
        ]
    return parts


def publication_fields(draft: Draft, publication_id: str) -> dict[str, Any]:
    """The publication's clear fields (``ehbox.model.parse_publication``), parts apart."""
    destinations: list[dict[str, object]] = [{"box": box} for box in draft.recipients]
    destinations += [{"box": box, "copy": True} for box in draft.copies]
    payload: dict[str, Any] = {
        "publication_id": publication_id,
        "destinations": destinations,
        "document": {
            "title": draft.title,
            "download_file_name": draft.download_file_name,
            "mime_type": draft.mime_type,
            "text": draft.mime_type.startswith("text/"),
        },
        "patient": draft.patient_ssin is not None,
        "annexes": [
            {
                "download_file_name": a.download_file_name,
                "mime_type": a.mime_type,
                "text": a.mime_type.startswith("text/"),
            }
            for a in draft.annexes
        ],
        "custom_metas": [{"key": k, "value": v} for k, v in draft.custom_metas],
        "content_specification": {
            "application_name": draft.application_name,
            "content_type": draft.content_type,
            "important": draft.important,
            "encrypted": True,
            "publication_receipt": "publication" in draft.receipts,
            "received_receipt": "received" in draft.receipts,
            "read_receipt": "read" in draft.receipts,
        },
    }
    if draft.free_text is not None:
        payload["free_information"] = {"text": True}
    elif draft.table:
        payload["free_information"] = {
            "table_rows": len(draft.table),
            "table_title": draft.table_title,
        }
    if draft.sender_box is not None:
        payload["box"] = draft.sender_box
    return payload


@dataclass(frozen=True, slots=True)
class OpenedPart:
    """One part as read: its bytes if they opened, whether they match the declared digest,
    and the unseal report (data and trust verdicts); ``problem`` says why it did not open."""

    name: str
    content: bytes | None
    digest_matches: bool
    report: UnsealReport | None
    problem: str | None = None

    @property
    def data_valid(self) -> bool:
        return self.digest_matches and self.report is not None and self.report.data.valid

    @property
    def trusted(self) -> bool:
        return self.report is not None and self.report.trust.trusted

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest_matches": self.digest_matches,
            "data_valid": self.data_valid,
            "trusted": self.trusted,
            "problem": self.problem,
            "report": None if self.report is None else self.report.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    """A full message: the box's clear metadata and every part opened and judged."""

    message_id: str
    metadata: dict[str, Any]
    parts: tuple[OpenedPart, ...] = field(default=())

    @property
    def title(self) -> str:
        return str(self.metadata["content_info"]["title"])

    @property
    def sender(self) -> dict[str, Any]:
        return dict(self.metadata["sender"])

    def part(self, name: str) -> OpenedPart:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)

    def text(self, name: str) -> str | None:
        content = self.part(name).content
        return None if content is None else content.decode("utf-8")

    @property
    def all_valid(self) -> bool:
        return all(p.data_valid for p in self.parts)

    @property
    def all_trusted(self) -> bool:
        return all(p.trusted for p in self.parts)


def framed_body(document: bytes, parts: Sequence[bytes]) -> Iterator[bytes]:
    """``application/vnd.ehcert.ehbox-parts``: the head's length, a line feed, the head,
    then each part's bytes (``api.ehbox``)."""
    yield str(len(document)).encode("ascii") + b"\n" + document
    yield from parts


class FramedReader:
    """Reads a framed answer from an iterator of byte pieces, part by part."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = bytearray()

    def _read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                raise EhcertError(ErrorKind.MALFORMED, "The platform's answer ended too early.")
            self._buffer += piece
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    def head(self) -> bytes:
        digits = bytearray()
        while (byte := self._read(1)) != b"\n":
            if not byte.isdigit() or len(digits) > 8:
                raise EhcertError(ErrorKind.MALFORMED, "The platform's answer is not framed.")
            digits += byte
        return self._read(int(digits or b"0"))

    def part(self, size: int) -> bytes:
        return self._read(size)


PartOpener = Callable[[str, bytes, str], OpenedPart]
