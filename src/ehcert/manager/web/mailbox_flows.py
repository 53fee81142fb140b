"""The mailbox pages: open it with a keystore, the inbox and sent box a page at a time, a
message unsealed here, a new message with annexes, receipts (out of office:
:mod:`.mailbox_absence`).

Every platform call is the SDK's (:class:`~ehcert.client.ehbox.EhboxClient`), run in a
worker thread; what is kept between pages is described in :mod:`.mailbox`. Each POST
goes through :meth:`ManagerApp.form` or :meth:`ManagerApp.files_form` first (session,
CSRF, origin), as every other form of the UI does.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ehcert.client.ehbox import EhboxClient, RecipientsOutOfOffice
from ehcert.client.ehbox_messages import OpenedMessage
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.keystores import summarise
from ehcert.manager.web.i18n import Translate, translator
from ehcert.manager.web.mailbox import (
    FOLDERS,
    MAX_MAILBOX_FORM_BYTES,
    RECEIPT_LABELS,
    HeldSend,
    OpenMailbox,
    Paging,
    content_disposition,
    current_mailbox,
    download_part,
    forget_mailbox,
    keep_mailbox,
    kept_fields,
    read_draft,
    requested_page,
)
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from ehcert.manager.web.app import ManagerApp
    from ehcert.manager.web.security import Session

_MESSAGE_ID = re.compile(r"^[0-9A-Za-z]{13}$")


def _t(app: ManagerApp, request: Request) -> Translate:
    return translator(app.language(request))


def _not_found(app: ManagerApp, request: Request, session: Session) -> Response:
    _ = _t(app, request)
    return app.render(
        request,
        session,
        "message.html",
        status=404,
        title=_("Message not found"),
        text=_("This message is not in this folder of the mailbox any more."),
    )


def _refusal(app: ManagerApp, request: Request, error: EhcertError) -> dict[str, str | None]:
    """A refused send: that nothing was sent, what kind of refusal in the reader's
    language, then the sentence of the SDK or the box, which names every recipient or
    part at fault."""
    shown = app.shown(request, error)
    _ = _t(app, request)
    lead = _("The message was not sent.")
    return {"text": f"{lead} {shown['text']}", "original": shown["original"]}


@dataclass(frozen=True, slots=True)
class MailboxPage:
    """One request to a page of an open mailbox: who asks and which mailbox."""

    app: ManagerApp
    request: Request
    session: Session
    mailbox: OpenMailbox

    def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        return self.app.render(
            self.request,
            self.session,
            template,
            status=status,
            mailbox=self.mailbox,
            folders=FOLDERS,
            **context,
        )


# --- open and close ---------------------------------------------------------------------------


async def mailbox_home(app: ManagerApp, request: Request) -> Response:
    session = app.session_for_page(request)
    if current_mailbox(session) is not None:
        return app.redirect(request, "/mailbox/INBOX")
    return _open_page(app, request, session, {}, status=200)


def _open_page(
    app: ManagerApp, request: Request, session: Session, errors: dict[str, Any], *, status: int
) -> Response:
    files = sorted(app.keystore_files().values(), key=lambda item: item.path.name)
    return app.render(
        request, session, "mailbox_open.html", status=status, files=files, errors=errors
    )


async def mailbox_open(app: ManagerApp, request: Request) -> Response:
    checked = await app.form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    _ = _t(app, request)
    item = app.keystore_files().get(fields.get("key", ""))
    if item is None:
        errors = {"key": {"text": _("Choose the keystore whose mailbox you open.")}}
        return _open_page(app, request, session, errors, status=400)

    def open_box() -> OpenMailbox:
        keystore = read_keystore_file(item.path, fields.get("password", ""))
        platform = app.client()  # refuses in one sentence when no platform was given
        platform.close()
        client = EhboxClient(
            platform.base_url, keystore, clock=app.settings.clock, transport=app.settings.transport
        )
        try:
            client.box_info()  # the token, the signature and the box: all checked now
        except EhcertError:
            client.close()
            raise
        summary = summarise(item.path, keystore, app.now())
        return OpenMailbox(item.key, summary.display_name or summary.holder, client)

    try:
        mailbox = await run_in_threadpool(open_box)
    except EhcertError as error:
        name = "password" if error.field == "password" else "key"
        return _open_page(app, request, session, {name: app.shown(request, error)}, status=400)
    keep_mailbox(session, mailbox)
    return app.redirect(request, "/mailbox/INBOX")


async def mailbox_close(app: ManagerApp, request: Request) -> Response:
    checked = await app.form(request)
    if isinstance(checked, Response):
        return checked
    session, _fields = checked
    forget_mailbox(session)
    _ = _t(app, request)
    app.flash(session, "ok", _("The mailbox is closed."))
    return app.redirect(request, "/mailbox")


def open_mailbox_page(app: ManagerApp, request: Request) -> MailboxPage | Response:
    """The page of the session's open mailbox, or the way to open one."""
    session = app.session_for_page(request)
    mailbox = current_mailbox(session)
    if mailbox is None:
        return app.redirect(request, "/mailbox")
    return MailboxPage(app, request, session, mailbox)


async def posted_to_mailbox(
    app: ManagerApp, request: Request
) -> tuple[MailboxPage, dict[str, str]] | Response:
    """A form posted from a mailbox page, after :meth:`ManagerApp.form`'s checks."""
    checked = await app.form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    mailbox = current_mailbox(session)
    if mailbox is None:
        return app.redirect(request, "/mailbox")
    return MailboxPage(app, request, session, mailbox), fields


# --- folders ---------------------------------------------------------------------------------


async def folder_page(app: ManagerApp, request: Request) -> Response:
    page = open_mailbox_page(app, request)
    if isinstance(page, Response):
        return page
    folder = request.path_params["folder"]
    if folder not in FOLDERS:
        return _not_found(app, request, page.session)
    mailbox, client = page.mailbox, page.mailbox.client
    number = requested_page(request.query_params.get("page"))
    chosen = request.query_params.get("box")

    def read() -> tuple[dict[str, Any], dict[str, Any], Paging]:
        info = client.box_info(box=mailbox.box)
        if chosen and chosen != info["box"] and chosen in info["boxes"]:
            mailbox.box = chosen  # another of my boxes: an institution I hold a mandate for
            info = client.box_info(box=chosen)
        start, end = Paging.range_of(number)
        listing = client.messages(folder, box=mailbox.box, start=start, end=end)
        paging = Paging.of(number, int(listing["total"]))
        if paging.page != number:  # past the last page: the last one
            start, end = Paging.range_of(paging.page)
            listing = client.messages(folder, box=mailbox.box, start=start, end=end)
        return info, listing, paging

    try:
        info, listing, paging = await run_in_threadpool(read)
    except EhcertError as error:
        return page.render(
            "mailbox_list.html",
            status=502,
            folder=folder,
            info=None,
            messages=[],
            paging=None,
            error=app.shown(request, error),
        )
    return page.render(
        "mailbox_list.html",
        folder=folder,
        info=info,
        messages=listing["messages"],
        paging=paging,
        error=None,
    )


async def _opened(mailbox: OpenMailbox, folder: str, message_id: str) -> OpenedMessage:
    """The message unsealed here (the one kept since it was shown, for its downloads)."""
    kept = mailbox.opened
    if kept is not None and kept.message_id == message_id:
        return kept
    client = mailbox.client
    opened = await run_in_threadpool(lambda: client.get(message_id, folder=folder, box=mailbox.box))
    mailbox.opened = opened
    return opened


def _message_id(page: MailboxPage) -> tuple[str, str] | None:
    folder, message_id = page.request.path_params["folder"], page.request.path_params["message_id"]
    if folder not in FOLDERS or not _MESSAGE_ID.match(message_id):
        return None
    return folder, message_id


async def message_page(app: ManagerApp, request: Request) -> Response:
    page = open_mailbox_page(app, request)
    if isinstance(page, Response):
        return page
    named = _message_id(page)
    if named is None:
        return _not_found(app, request, page.session)
    folder, message_id = named
    mailbox, client = page.mailbox, page.mailbox.client
    mailbox.opened = None  # opened afresh: verdicts and receipts as of now
    try:
        message = await _opened(mailbox, folder, message_id)
        receipts = None
        if folder == "SENTBOX":
            receipts = await run_in_threadpool(
                lambda: client.acknowledgments(message_id, box=mailbox.box)
            )
    except EhcertError as error:
        if error.kind is ErrorKind.NOT_FOUND:
            return _not_found(app, request, page.session)
        _ = _t(app, request)
        return app.render(
            request,
            page.session,
            "message.html",
            status=502,
            title=_("The message could not be opened"),
            text=app.shown(request, error)["text"] or "",
        )
    metadata = message.metadata
    annexes = [
        {
            "index": index,
            "title": message.text(f"annex/{index}/title"),
            "file": annex.get("download_file_name"),
            "part": message.part(f"annex/{index}/content"),
        }
        for index, annex in enumerate(metadata.get("annexes") or [])
    ]
    document = message.part("document")
    shown_text = None
    if (metadata.get("document") or {}).get("text") and document.content is not None:
        shown_text = document.content.decode("utf-8", "replace")
    has_free_text = any(p.name == "free-text" for p in message.parts)
    return page.render(
        "mailbox_message.html",
        folder=folder,
        message=message,
        metadata=metadata,
        document=document,
        shown_text=shown_text,
        free_text=message.text("free-text") if has_free_text else None,
        annexes=annexes,
        receipts=receipts,
    )


async def download(app: ManagerApp, request: Request) -> Response:
    page = open_mailbox_page(app, request)
    if isinstance(page, Response):
        return page
    named = _message_id(page)
    part_name = download_part(request.path_params["part"])
    if named is None or part_name is None:
        return _not_found(app, request, page.session)
    folder, message_id = named
    try:
        message = await _opened(page.mailbox, folder, message_id)
        part = message.part(part_name)
    except (EhcertError, KeyError):
        return _not_found(app, request, page.session)
    if part.content is None:
        return _not_found(app, request, page.session)
    metadata = message.metadata
    if part_name == "document":
        filename = str((metadata.get("document") or {}).get("download_file_name") or "document")
    else:
        annex = metadata["annexes"][int(part_name.split("/")[1])]
        filename = str(annex.get("download_file_name") or "annex")
    # Never rendered in this origin: an annex is a file to save, whatever it claims to be.
    return Response(
        part.content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": content_disposition(filename)},
    )


# --- send -------------------------------------------------------------------------------------


def _compose(
    page: MailboxPage,
    fields: dict[str, str],
    errors: dict[str, Any],
    *,
    status: int = 200,
    refusal: dict[str, str | None] | None = None,
) -> Response:
    return page.render(
        "mailbox_compose.html",
        status=status,
        values=fields,
        errors=errors,
        refusal=refusal,
        receipt_labels=RECEIPT_LABELS,
    )


async def compose_form(app: ManagerApp, request: Request) -> Response:
    page = open_mailbox_page(app, request)
    if isinstance(page, Response):
        return page
    return _compose(page, {}, {})


async def compose_submit(app: ManagerApp, request: Request) -> Response:
    checked = await app.files_form(request, max_bytes=MAX_MAILBOX_FORM_BYTES)
    if isinstance(checked, Response):
        return checked
    session, fields, files = checked
    mailbox = current_mailbox(session)
    if mailbox is None:
        return app.redirect(request, "/mailbox")
    page = MailboxPage(app, request, session, mailbox)
    draft, problems = read_draft(fields, files, _t(app, request), sender_box=mailbox.box)
    kept = kept_fields(fields)
    if draft is None:
        errors = {name: {"text": text} for name, text in problems.items()}
        return _compose(page, kept, errors, status=400)
    client = mailbox.client
    try:
        prepared = await run_in_threadpool(client.prepare, draft)
        sent = await run_in_threadpool(client.publish, prepared)
    except RecipientsOutOfOffice as away:
        # Sealed already: only the sealed parts wait for the sender's decision.
        mailbox.held = HeldSend(secrets.token_urlsafe(16), prepared, away.recipients)
        return page.render("mailbox_away.html", status=409, held=mailbox.held, title=draft.title)
    except EhcertError as error:
        return _compose(page, kept, {}, status=400, refusal=_refusal(app, request, error))
    _flash_sent(page, sent)
    return app.redirect(request, "/mailbox/SENTBOX")


def _flash_sent(page: MailboxPage, sent: dict[str, Any]) -> None:
    _ = _t(page.app, page.request)
    recipients = ", ".join(str(r) for r in sent.get("recipients", []))
    page.app.flash(page.session, "ok", _("Message sent to %(recipients)s.", recipients=recipients))


async def send_held(app: ManagerApp, request: Request) -> Response:
    """The sender's "send anyway" to recipients out of office (ehBox's ``OoOProcessed``)."""
    posted = await posted_to_mailbox(app, request)
    if isinstance(posted, Response):
        return posted
    page, fields = posted
    mailbox = page.mailbox
    held, mailbox.held = mailbox.held, None
    if held is None or not secrets.compare_digest(held.token, fields.get("token", "")):
        return app.redirect(request, "/mailbox/new")
    if fields.get("decision") != "send":
        _ = _t(app, request)
        app.flash(page.session, "ok", _("The message was not sent."))
        return app.redirect(request, "/mailbox/INBOX")
    client = mailbox.client
    try:
        sent = await run_in_threadpool(lambda: client.publish(held.prepared, ooo_acknowledged=True))
    except EhcertError as error:
        return _compose(page, {}, {}, status=400, refusal=_refusal(app, request, error))
    _flash_sent(page, sent)
    return app.redirect(request, "/mailbox/SENTBOX")
