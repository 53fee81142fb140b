"""The eHealthBox in the Certificate Manager: what a mailbox page keeps, and what it reads.

A mailbox is opened with one keystore and its password (:class:`OpenMailbox`). The
manager runs on the care provider's own machine, so that is where messages are sealed
and unsealed: with the SDK's :class:`~ehcert.client.ehbox.EhboxClient`, exactly as
``ehcert ehbox`` does, the keystore's keys never leaving this process. The platform
sees sealed parts only.

What is kept, and for how long (the exception to "passwords are never kept" of
:mod:`.security`, made as the eID step makes its own): reading a mailbox is many pages
(the inbox, a message, the next page, the sent box), and decrypting a keystore costs
600 000 PBKDF2 iterations, so asking for the password on every page is not workable.
The *opened keystore* (its keys in memory, never the password text) stays in this
process's memory for this browser's session while it is used, and is dropped after
:data:`MAILBOX_IDLE_SECONDS` without use, when the person closes the mailbox, or opens
another. So does the last message opened (to serve its annexes without unsealing them
again) and a sealed send waiting for the out-of-office confirmation. Nothing of it is
written to disk or logged.

The compose form is read here (:func:`read_draft`): recipients typed as box
identifiers (``SSIN=79021802145``, ``SSIN=...:nurse``, ``NIHII-HOSPITAL=71000436``; a
bare national number means ``SSIN=``), the title (1 to 400 characters, sent in clear as
in ehBox), the message as text or a file, annexes, the receipts asked for. Each wrong
field gets its sentence; the box itself judges the rest (unknown recipients, ETKs,
quotas) and its refusal names them.
"""

from __future__ import annotations

import mimetypes
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ehcert.client.ehbox import EhboxClient, PreparedMessage
from ehcert.client.ehbox_messages import RECEIPTS, Annex, Draft, OpenedMessage
from ehcert.manager.web.i18n import N_, Translate
from ehcert.manager.web.uploads import Upload

if TYPE_CHECKING:
    from ehcert.manager.web.security import Session

MAILBOX_IDLE_SECONDS = 900
MAX_MAILBOX_FORM_BYTES = 24 * 1024 * 1024
"""A message with its annexes, as the browser sends the form to this local manager."""
PAGE_SIZE = 20
FOLDERS = {"INBOX": N_("Inbox"), "SENTBOX": N_("Sent")}
RECEIPT_LABELS = {
    "publication": N_("Publication receipt (when the message is published)"),
    "received": N_("Reception receipt (when the recipient's mailbox shows it)"),
    "read": N_("Read receipt (when the recipient opens it)"),
}
MAX_TITLE = 400
_SESSION_KEY = "mailbox"
_BOX = re.compile(r"^[A-Z][A-Z-]{1,19}=[0-9A-Za-z]{1,20}(?:,[0-9A-Za-z]{1,25})?(?::[a-z]{2,30})?$")
_SSIN = re.compile(r"^\d{11}$")


@dataclass
class HeldSend:
    """A sealed message the box answered "out of office" for, waiting for the sender."""

    token: str
    prepared: PreparedMessage
    absent: list[dict[str, Any]]


@dataclass
class OpenMailbox:
    """One keystore's mailbox, open in this browser's session (module docstring)."""

    file_key: str
    holder: str
    client: EhboxClient
    box: str | None = None  # None: the keystore holder's own box
    used_at: float = field(default_factory=time.monotonic)
    opened: OpenedMessage | None = None
    held: HeldSend | None = None

    def idle(self) -> bool:
        return time.monotonic() - self.used_at > MAILBOX_IDLE_SECONDS

    def close(self) -> None:
        self.opened = None
        self.held = None
        self.client.close()


def current_mailbox(session: Session) -> OpenMailbox | None:
    """The session's open mailbox, its idle time reset; None if none or it timed out."""
    mailbox = session.pending.get(_SESSION_KEY)
    if not isinstance(mailbox, OpenMailbox):
        return None
    if mailbox.idle():
        forget_mailbox(session)
        return None
    mailbox.used_at = time.monotonic()
    return mailbox


def keep_mailbox(session: Session, mailbox: OpenMailbox) -> None:
    """Keep ``mailbox`` for the session's next pages; a timer drops it once it has been
    idle for :data:`MAILBOX_IDLE_SECONDS`, even if the browser never comes back."""
    forget_mailbox(session)
    session.pending[_SESSION_KEY] = mailbox

    def check() -> None:
        if session.pending.get(_SESSION_KEY) is not mailbox:
            return
        if mailbox.idle():
            forget_mailbox(session)
            return
        left = MAILBOX_IDLE_SECONDS - (time.monotonic() - mailbox.used_at)
        _start_timer(max(left, 1.0), check)

    _start_timer(MAILBOX_IDLE_SECONDS, check)


def _start_timer(seconds: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()


def forget_mailbox(session: Session) -> None:
    mailbox = session.pending.pop(_SESSION_KEY, None)
    if isinstance(mailbox, OpenMailbox):
        mailbox.close()


# --- the compose form -------------------------------------------------------------------------


def read_boxes(text: str, name: str, _: Translate, errors: dict[str, str]) -> list[str]:
    """The box identifiers typed in field ``name`` (commas, spaces or lines between)."""
    boxes: list[str] = []
    for word in re.split(r"[\s,;]+", text.strip()):
        if not word:
            continue
        box = f"SSIN={word}" if _SSIN.match(word) else word
        if not _BOX.match(box):
            errors[name] = _(
                "%(value)s is not a mailbox: write SSIN=national number (with :nurse, "
                ":pharmacist, ... for another quality) or TYPE=number, such as "
                "NIHII-HOSPITAL=71000436.",
                value=word[:60],
            )
            return []
        if box not in boxes:
            boxes.append(box)
    return boxes


def _mime_type(filename: str) -> str:
    guessed, _encoding = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def _file_name(upload: Upload) -> str:
    """The name of an uploaded file without any folder a browser may have put in it."""
    return re.split(r"[\\/]", upload.filename)[-1][:255] or "file"


def read_draft(
    fields: dict[str, str],
    files: dict[str, list[Upload]],
    _: Translate,
    *,
    sender_box: str | None = None,
) -> tuple[Draft | None, dict[str, str]]:
    """The :class:`Draft` the compose form describes, or the sentence for each wrong field.

    The message is the file chosen as document, with the typed text as its free text;
    without a file, the typed text is the document itself (``message.txt``).
    """
    errors: dict[str, str] = {}
    recipients = read_boxes(fields.get("to", ""), "to", _, errors)
    copies = read_boxes(fields.get("cc", ""), "cc", _, errors)
    if not recipients and "to" not in errors:
        errors["to"] = _("Give at least one recipient.")
    title = fields.get("title", "").strip()
    if not title:
        errors["title"] = _("Give the message a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _(
            "The title is %(count)s characters long; at most %(limit)s are allowed.",
            count=len(title),
            limit=MAX_TITLE,
        )
    text = fields.get("body", "").replace("\r\n", "\n")
    chosen = files.get("document") or []
    document = chosen[0] if chosen else None
    if document is None and not text.strip():
        errors["body"] = _("Write the message, or choose a file to send.")
    if errors:
        return None, errors
    annexes = [
        Annex(_file_name(upload), upload.data, _file_name(upload), _mime_type(upload.filename))
        for upload in files.get("annexes", [])
    ]
    receipts = frozenset(r for r in RECEIPTS if fields.get(f"receipt_{r}") == "on")
    if document is not None:
        content, name, mime = document.data, _file_name(document), _mime_type(document.filename)
        free_text = text if text.strip() else None
    else:
        content, name, mime, free_text = text.encode("utf-8"), "message.txt", "text/plain", None
    draft = Draft(
        recipients=recipients,
        copies=[box for box in copies if box not in recipients],
        title=title,
        content=content,
        download_file_name=name,
        mime_type=mime,
        annexes=annexes,
        free_text=free_text,
        receipts=receipts,
        important=fields.get("important") == "on",
        sender_box=sender_box,
    )
    return draft, {}


def kept_fields(fields: dict[str, str]) -> dict[str, str]:
    """What the compose form shows again after a refusal (files cannot be kept)."""
    names = ("to", "cc", "title", "body", "important", *(f"receipt_{r}" for r in RECEIPTS))
    return {name: fields.get(name, "") for name in names}


# --- reading -----------------------------------------------------------------------------------


def requested_page(text: str | None) -> int:
    """The page number a link asks for (1 when it asks for nothing sensible)."""
    try:
        return max(int(text or "1"), 1)
    except ValueError:
        return 1


@dataclass(frozen=True, slots=True)
class Paging:
    """One page of a folder: its number, how many pages, and the ehBox index range
    (``StartIndex`` and ``EndIndex``, from 1, at most 100 apart)."""

    page: int
    pages: int
    total: int

    @staticmethod
    def range_of(page: int) -> tuple[int, int]:
        return (page - 1) * PAGE_SIZE + 1, page * PAGE_SIZE

    @classmethod
    def of(cls, page: int, total: int) -> Paging:
        """Page ``page`` of a folder of ``total`` messages, or its last page."""
        pages = max(1, -(-total // PAGE_SIZE))
        return cls(min(max(page, 1), pages), pages, total)


def download_part(name: str) -> str | None:
    """The part a download link names: ``document`` or ``annex-<i>`` (its content)."""
    if name == "document":
        return "document"
    match = re.fullmatch(r"annex-(\d{1,3})", name)
    return f"annex/{int(match.group(1))}/content" if match else None


def content_disposition(filename: str) -> str:
    """``attachment`` with the file name (RFC 6266 section 4.3: an ASCII fallback and the
    UTF-8 ``filename*`` of RFC 8187)."""
    fallback = re.sub(r"[^A-Za-z0-9._ -]", "_", filename) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
