"""The mailbox's out-of-office pages (ehBox's ``insertOoO``, ``getOoOList``, ``deleteOoO``).

A period is a first and a last day (both included) and the boxes of the substitutes;
while it covers the day, a send to this box is answered "recipient out of office" and
the sender chooses (:func:`.mailbox_flows.send_held`). Dates are checked here, next to
their fields; the box judges the rest.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ehcert.core.errors import EhcertError
from ehcert.manager.web.i18n import translator
from ehcert.manager.web.mailbox import read_boxes
from ehcert.manager.web.mailbox_flows import MailboxPage, open_mailbox_page, posted_to_mailbox

if TYPE_CHECKING:
    from ehcert.manager.web.app import ManagerApp


async def _ooo(
    page: MailboxPage, values: dict[str, str], errors: dict[str, Any], *, status: int = 200
) -> Response:
    mailbox = page.mailbox
    client = mailbox.client
    unlisted = None
    try:
        periods = await run_in_threadpool(lambda: client.out_of_office(box=mailbox.box))
    except EhcertError as error:
        periods, unlisted = [], page.app.shown(page.request, error)
    return page.render(
        "mailbox_ooo.html",
        status=status,
        periods=periods,
        unlisted=unlisted,
        values=values,
        errors=errors,
    )


async def ooo_page(app: ManagerApp, request: Request) -> Response:
    page = open_mailbox_page(app, request)
    if isinstance(page, Response):
        return page
    return await _ooo(page, {}, {})


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


async def ooo_add(app: ManagerApp, request: Request) -> Response:
    posted = await posted_to_mailbox(app, request)
    if isinstance(posted, Response):
        return posted
    page, fields = posted
    _ = translator(app.language(request))
    problems: dict[str, str] = {}
    start, end = _date(fields.get("start", "")), _date(fields.get("end", ""))
    if start is None:
        problems["start"] = _("Give the first day of the absence, as YYYY-MM-DD.")
    if end is None:
        problems["end"] = _("Give the last day of the absence, as YYYY-MM-DD.")
    elif start is not None and end < start:
        problems["end"] = _("The last day cannot come before the first.")
    substitutes = read_boxes(fields.get("substitutes", ""), "substitutes", _, problems)
    values = {name: fields.get(name, "") for name in ("start", "end", "substitutes")}
    if problems or start is None or end is None:
        errors = {name: {"text": text} for name, text in problems.items()}
        return await _ooo(page, values, errors, status=400)
    mailbox = page.mailbox
    client = mailbox.client
    try:
        await run_in_threadpool(
            lambda: client.set_out_of_office(
                start.isoformat(), end.isoformat(), substitutes, box=mailbox.box
            )
        )
    except EhcertError as error:
        name = "substitutes" if error.field == "substitutes" else "start"
        return await _ooo(page, values, {name: app.shown(request, error)}, status=400)
    app.flash(
        page.session,
        "ok",
        _("You are out of office from %(start)s to %(end)s.", start=start, end=end),
    )
    return app.redirect(request, "/mailbox/ooo")


async def ooo_delete(app: ManagerApp, request: Request) -> Response:
    posted = await posted_to_mailbox(app, request)
    if isinstance(posted, Response):
        return posted
    page, fields = posted
    mailbox = page.mailbox
    client = mailbox.client
    ooo_id = fields.get("ooo_id", "")
    try:
        await run_in_threadpool(lambda: client.clear_out_of_office([ooo_id], box=mailbox.box))
    except EhcertError as error:
        app.flash(page.session, "error", app.shown(request, error)["text"] or "")
        return app.redirect(request, "/mailbox/ooo")
    _ = translator(app.language(request))
    app.flash(page.session, "ok", _("The out-of-office period is deleted."))
    return app.redirect(request, "/mailbox/ooo")
