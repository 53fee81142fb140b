"""Boxes, folders and the publication of a message, with the limits of ehBox v3.

Names and limits come from the published contract (core XSD 3.0 and the publication
protocol XSD): ``MessageIdType`` is exactly 13 alphanumerics, ``PublicationIdType`` 1 to
13 characters, a document ``Title`` 1 to 400 characters (sent in clear),
``DownloadFileName`` and ``MimeType`` 1 to 255, ``ApplicationName`` 1 to 25,
``CustomMeta`` at most 50 (``ContentContextType``, ``maxOccurs="50"``) whose ``Key`` and
``Value`` are 1 to 250 characters, ``ContentType`` one of DOCUMENT, NEWS, ACKNOWLEDGMENT
and ERROR; folders are INBOX, SENTBOX, BININBOX and BINSENTBOX; a page
(``StartIndex``/``EndIndex``, from 1) holds at most 100 messages and a move or delete
names at most 100 message ids.

Every encryptable part (``Encryptable*`` in the XSD: the document content, the free
text or each table cell, the patient's INSS, each annex's title and content) travels
as its own sealed blob; the publication lists them by name with their size and SHA-256
digest (:class:`PartDeclaration`), and the mailbox checks both as the bytes arrive.

Parsing raises :class:`~ehcert.core.errors.EhcertError` ``malformed`` naming the field
and why, so the edge answers a 400 that says what to fix.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.identifiers import INSTITUTION_TYPES, InstitutionId, Profession, Ssin

MESSAGE_ID_LENGTH = 13
MAX_PUBLICATION_ID = 13
MAX_TITLE = 400
MAX_FILE_NAME = 255
MAX_MIME_TYPE = 255
MAX_APPLICATION_NAME = 25
MAX_CUSTOM_METAS = 50
MAX_META_TEXT = 250
MAX_PAGE = 100
MAX_IDS_PER_CALL = 100
MAX_TABLE_ROWS = 1000
MAX_ANNEXES = 100
DEFAULT_MAX_RECIPIENTS = 100

_MESSAGE_ID = re.compile(r"[A-Za-z0-9]{13}")
_ALPHANUMERIC = string.ascii_letters + string.digits
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def malformed(field: str, detail: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, detail, field=field)


def new_message_id() -> str:
    """A ``MessageIdType``: 13 alphanumerics, 77 bits from the CSPRNG."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(MESSAGE_ID_LENGTH))


def check_message_id(value: object, field: str = "message_id") -> str:
    if not isinstance(value, str) or not _MESSAGE_ID.fullmatch(value):
        raise malformed(
            field, f"Field {field} must be a message id of exactly 13 letters or digits."
        )
    return value


class Folder(StrEnum):
    INBOX = "INBOX"
    SENTBOX = "SENTBOX"
    BININBOX = "BININBOX"
    BINSENTBOX = "BINSENTBOX"

    @property
    def is_bin(self) -> bool:
        return self in (Folder.BININBOX, Folder.BINSENTBOX)

    @property
    def side(self) -> str:
        """``received`` for the inbox and its bin, ``sent`` for the sent box and its bin."""
        return "received" if self in (Folder.INBOX, Folder.BININBOX) else "sent"

    @classmethod
    def parse(cls, value: object, field: str = "source") -> Folder:
        try:
            return cls(str(value).upper()) if isinstance(value, str) else cls(value)  # type: ignore[arg-type]
        except ValueError:
            names = ", ".join(f.value for f in cls)
            raise malformed(field, f"Field {field} must be one of {names}.") from None


MOVES: dict[Folder, tuple[Folder, ...]] = {
    Folder.INBOX: (Folder.BININBOX,),
    Folder.BININBOX: (Folder.INBOX,),
    Folder.SENTBOX: (Folder.BINSENTBOX,),
    Folder.BINSENTBOX: (Folder.SENTBOX,),
}
"""Where a message may move: to its bin and back; a received message never becomes sent."""


class ContentType(StrEnum):
    DOCUMENT = "DOCUMENT"
    NEWS = "NEWS"
    ACKNOWLEDGMENT = "ACKNOWLEDGMENT"
    ERROR = "ERROR"


def _institution_quality(kind: str) -> str:
    return kind.removeprefix("NIHII-").lower()


@dataclass(frozen=True, slots=True, order=True)
class BoxId:
    """An eHealthBox (``BoxIdType``): an identifier, its type and a quality.

    A person's box is their SSIN with a quality (``SSIN=79021802145:doctor``); an
    institution's box its identifier (``NIHII-HOSPITAL=71000436``), whose quality follows
    from the type (``hospital``). ``quality`` ``None`` is only a request's shorthand for
    "the person's registered quality", resolved by the mailbox.
    """

    type: str
    value: str
    quality: str | None = None

    def __post_init__(self) -> None:
        if self.type == "SSIN":
            Ssin(self.value)
            if self.quality is not None and self.quality not in {p.value for p in Profession}:
                raise ValueError(f"unknown quality {self.quality!r} for a person's box")
        else:
            InstitutionId(self.type, self.value)
            if self.quality != _institution_quality(self.type):
                object.__setattr__(self, "quality", _institution_quality(self.type))

    @property
    def is_person(self) -> bool:
        return self.type == "SSIN"

    def with_quality(self, quality: str) -> BoxId:
        return BoxId(self.type, self.value, quality)

    @classmethod
    def parse(cls, text: object, field: str = "box") -> BoxId:
        """``SSIN=<11 digits>[:quality]`` or ``<institution type>=<id>``."""
        if not isinstance(text, str):
            raise malformed(field, f"Field {field} must be a box written TYPE=ID[:quality].")
        head, _, quality = text.strip().partition(":")
        kind, sep, value = head.partition("=")
        kind = kind.strip().upper()
        if not sep or (kind != "SSIN" and kind not in INSTITUTION_TYPES):
            raise malformed(
                field,
                f"Field {field} {text!r} is not a box: write SSIN=<number>[:quality] or an "
                "institution TYPE=ID such as NIHII-HOSPITAL=71000436.",
            )
        try:
            return cls(kind, value.strip(), quality.strip().lower() or None)
        except ValueError as error:
            raise malformed(field, f"Field {field} {text!r}: {error}.") from None

    def __str__(self) -> str:
        base = f"{self.type}={self.value}"
        return f"{base}:{self.quality}" if self.is_person and self.quality else base

    def to_dict(self) -> dict[str, str | None]:
        return {"id": self.value, "type": self.type, "quality": self.quality}


# --- the publication ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartDeclaration:
    """One sealed part as the sender declares it: its name, size and SHA-256 digest."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Destination:
    """A recipient (``DestinationContext``); ``copy`` marks a copy (cc);
    ``ooo_processed`` is ``OoOProcessed``: the sender knows the recipient is away."""

    box: BoxId
    copy: bool = False
    ooo_processed: bool = False


@dataclass(frozen=True, slots=True)
class AnnexInfo:
    download_file_name: str
    mime_type: str
    text: bool


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    title: str
    download_file_name: str
    mime_type: str
    text: bool


@dataclass(frozen=True, slots=True)
class ContentSpecification:
    application_name: str | None
    content_type: ContentType
    important: bool
    encrypted: bool
    publication_receipt: bool
    received_receipt: bool
    read_receipt: bool


@dataclass(frozen=True, slots=True)
class Publication:
    """A ``SendMessageRequest`` without its sealed bytes (they follow it on the wire)."""

    publication_id: str
    sender_box: BoxId | None
    destinations: tuple[Destination, ...]
    document: DocumentInfo
    free_information: str | None  # None, "text" or "table"
    table_title: str | None
    table_rows: int
    patient: bool
    annexes: tuple[AnnexInfo, ...]
    custom_metas: tuple[tuple[str, str], ...]
    specification: ContentSpecification
    parts: tuple[PartDeclaration, ...]

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)

    def expected_part_names(self) -> list[str]:
        """The encryptable parts this publication must carry, in wire order."""
        names = ["document"]
        if self.free_information == "text":
            names.append("free-text")
        for row in range(self.table_rows):
            names += [f"table/{row}/left", f"table/{row}/right"]
        if self.patient:
            names.append("patient")
        for index in range(len(self.annexes)):
            names += [f"annex/{index}/title", f"annex/{index}/content"]
        return names

    def clear_metadata(self) -> dict[str, object]:
        """What the box stores in clear, as ehBox does: never an encryptable part."""
        spec = self.specification
        return {
            "publication_id": self.publication_id,
            "document": {
                "title": self.document.title,
                "download_file_name": self.document.download_file_name,
                "mime_type": self.document.mime_type,
                "text": self.document.text,
            },
            "free_information": self.free_information,
            "table_title": self.table_title,
            "table_rows": self.table_rows,
            "patient": self.patient,
            "annexes": [
                {
                    "download_file_name": a.download_file_name,
                    "mime_type": a.mime_type,
                    "text": a.text,
                }
                for a in self.annexes
            ],
            "custom_metas": [{"key": k, "value": v} for k, v in self.custom_metas],
            "content_specification": {
                "application_name": spec.application_name,
                "content_type": spec.content_type.value,
                "important": spec.important,
                "encrypted": spec.encrypted,
                "publication_receipt": spec.publication_receipt,
                "received_receipt": spec.received_receipt,
                "read_receipt": spec.read_receipt,
            },
        }


def _text(payload: Mapping[str, object], key: str, field: str, low: int, high: int) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise malformed(field, f"Field {field} must be text of {low} to {high} characters.")
    return value


def _optional_text(payload: Mapping[str, object], key: str, field: str, high: int) -> str | None:
    if payload.get(key) is None:
        return None
    return _text(payload, key, field, 1, high)


def _flag(payload: Mapping[str, object], key: str, field: str) -> bool:
    value = payload.get(key, False)
    if not isinstance(value, bool):
        raise malformed(field, f"Field {field} must be true or false.")
    return value


def _object(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise malformed(field, f"Field {field} must be an object.")
    return value


def _list(value: object, field: str, high: int, *, low: int = 0) -> Sequence[object]:
    if value is None and low == 0:
        return ()
    if not isinstance(value, list) or not low <= len(value) <= high:
        raise malformed(field, f"Field {field} must be a list of {low} to {high} items.")
    return value


def _count(value: object, field: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise malformed(field, f"Field {field} must be a whole number from 0 to {high}.")
    return value


def _destinations(raw: object, max_recipients: int) -> tuple[Destination, ...]:
    items = _list(raw, "destinations", max_recipients, low=1)
    found: list[Destination] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        field = f"destinations[{index}]"
        entry = _object(item, field)
        box = BoxId.parse(entry.get("box"), f"{field}.box")
        if (box.type, box.value) in seen:
            raise malformed(f"{field}.box", f"Box {box} is named twice among the recipients.")
        seen.add((box.type, box.value))
        found.append(
            Destination(
                box,
                _flag(entry, "copy", f"{field}.copy"),
                _flag(entry, "ooo_processed", f"{field}.ooo_processed"),
            )
        )
    return tuple(found)


def _parts(raw: object) -> tuple[PartDeclaration, ...]:
    items = _list(raw, "parts", 2 * MAX_TABLE_ROWS + 2 * MAX_ANNEXES + 3, low=1)
    parts: list[PartDeclaration] = []
    for index, item in enumerate(items):
        field = f"parts[{index}]"
        entry = _object(item, field)
        name = _text(entry, "name", f"{field}.name", 1, 40)
        size = entry.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise malformed(f"{field}.size", f"Field {field}.size must be a positive byte count.")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise malformed(
                f"{field}.sha256", f"Field {field}.sha256 must be 64 lower-case hex digits."
            )
        parts.append(PartDeclaration(name, size, digest))
    return tuple(parts)


def _specification(raw: object) -> ContentSpecification:
    spec = _object(raw if raw is not None else {}, "content_specification")
    field = "content_specification"
    content_type = spec.get("content_type", "DOCUMENT")
    try:
        kind = ContentType(content_type)  # type: ignore[arg-type]
    except ValueError:
        names = ", ".join(c.value for c in ContentType)
        raise malformed(
            f"{field}.content_type", f"Field {field}.content_type must be one of {names}."
        ) from None
    return ContentSpecification(
        _optional_text(spec, "application_name", f"{field}.application_name", MAX_APPLICATION_NAME),
        kind,
        _flag(spec, "important", f"{field}.important"),
        _flag(spec, "encrypted", f"{field}.encrypted"),
        _flag(spec, "publication_receipt", f"{field}.publication_receipt"),
        _flag(spec, "received_receipt", f"{field}.received_receipt"),
        _flag(spec, "read_receipt", f"{field}.read_receipt"),
    )


def parse_publication(payload: Mapping[str, object], *, max_recipients: int) -> Publication:
    """Read a publication (the JSON form of ``SendMessageRequest``); see the module."""
    publication_id = _text(payload, "publication_id", "publication_id", 1, MAX_PUBLICATION_ID)
    sender = payload.get("box")
    sender_box = None if sender is None else BoxId.parse(sender, "box")
    document = _object(payload.get("document"), "document")
    info = DocumentInfo(
        _text(document, "title", "document.title", 1, MAX_TITLE),
        _text(document, "download_file_name", "document.download_file_name", 1, MAX_FILE_NAME),
        _text(document, "mime_type", "document.mime_type", 1, MAX_MIME_TYPE),
        _flag(document, "text", "document.text"),
    )
    free = payload.get("free_information")
    free_kind: str | None = None
    table_title: str | None = None
    table_rows = 0
    if free is not None:
        free_object = _object(free, "free_information")
        has_text = _flag(free_object, "text", "free_information.text")
        rows = _count(
            free_object.get("table_rows", 0), "free_information.table_rows", MAX_TABLE_ROWS
        )
        if has_text == (rows > 0):
            raise malformed(
                "free_information",
                "Free information is a free text or a table, not both and not neither.",
            )
        free_kind = "text" if has_text else "table"
        table_rows = rows
        table_title = _optional_text(
            free_object, "table_title", "free_information.table_title", MAX_TITLE
        )
    annexes = []
    for index, item in enumerate(_list(payload.get("annexes"), "annexes", MAX_ANNEXES)):
        field = f"annexes[{index}]"
        annex = _object(item, field)
        annexes.append(
            AnnexInfo(
                _text(annex, "download_file_name", f"{field}.download_file_name", 1, MAX_FILE_NAME),
                _text(annex, "mime_type", f"{field}.mime_type", 1, MAX_MIME_TYPE),
                _flag(annex, "text", f"{field}.text"),
            )
        )
    metas = []
    for index, item in enumerate(
        _list(payload.get("custom_metas"), "custom_metas", MAX_CUSTOM_METAS)
    ):
        field = f"custom_metas[{index}]"
        meta = _object(item, field)
        metas.append(
            (
                _text(meta, "key", f"{field}.key", 1, MAX_META_TEXT),
                _text(meta, "value", f"{field}.value", 1, MAX_META_TEXT),
            )
        )
    publication = Publication(
        publication_id=publication_id,
        sender_box=sender_box,
        destinations=_destinations(payload.get("destinations"), max_recipients),
        document=info,
        free_information=free_kind,
        table_title=table_title,
        table_rows=table_rows,
        patient=_flag(payload, "patient", "patient"),
        annexes=tuple(annexes),
        custom_metas=tuple(metas),
        specification=_specification(payload.get("content_specification")),
        parts=_parts(payload.get("parts")),
    )
    expected = publication.expected_part_names()
    declared = [part.name for part in publication.parts]
    if declared != expected:
        raise malformed(
            "parts",
            f"The parts must be, in order: {', '.join(expected)}; the request lists "
            f"{', '.join(declared)}.",
        )
    return publication


@dataclass(frozen=True, slots=True)
class Page:
    """``StartIndex`` / ``EndIndex``: from 1, both included, at most 100 at once."""

    start: int = 1
    end: int = MAX_PAGE

    @classmethod
    def parse(cls, payload: Mapping[str, object]) -> Page:
        start, end = payload.get("start_index", 1), payload.get("end_index", MAX_PAGE)
        for name, value in (("start_index", start), ("end_index", end)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise malformed(name, f"Field {name} must be a whole number from 1.")
        assert isinstance(start, int)
        assert isinstance(end, int)
        if end < start:
            raise malformed("end_index", "Field end_index must not be less than start_index.")
        if end - start + 1 > MAX_PAGE:
            raise malformed("end_index", f"A page holds at most {MAX_PAGE} messages.")
        return cls(start, end)

    @property
    def offset(self) -> int:
        return self.start - 1

    @property
    def limit(self) -> int:
        return self.end - self.start + 1


def parse_message_ids(payload: Mapping[str, object]) -> tuple[str, ...]:
    items = _list(payload.get("message_ids"), "message_ids", MAX_IDS_PER_CALL, low=1)
    return tuple(
        dict.fromkeys(check_message_id(item, f"message_ids[{i}]") for i, item in enumerate(items))
    )
