"""The pages of the UI, one handler per step of each flow (see :mod:`.app` for the why).

Each POST handler first goes through :meth:`ManagerApp.form` (session, CSRF, origin),
checks what it can locally and re-renders the form with a sentence next to each wrong
field, and only then acts: quick things at once, slow things as a job. Blocking work
(keystore decryption with 600 000 PBKDF2 iterations, platform calls) runs in a worker
thread so the server keeps answering.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ehcert.client.platform import serial_of
from ehcert.client.results import CertificateState
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.revocation import HOLDER_REASONS
from ehcert.manager.keystores import KeystoreFile, KeystoreSummary
from ehcert.manager.password import ChangeStep, change_password
from ehcert.manager.renewal import renew_certificate
from ehcert.manager.revocation import revoke_certificate
from ehcert.manager.web.eid_flows import new_password_errors
from ehcert.manager.web.i18n import Translate, readable_identifier, translator
from ehcert.manager.web.jobs import StepReporter
from ehcert.pki.keystore import read_keystore_file

if TYPE_CHECKING:
    from ehcert.manager.web.app import ManagerApp
    from ehcert.manager.web.security import Session

RENEW_STEPS = ("generating-key", "requesting", "writing-keystore")
PASSWORD_STEPS = ("reading", "re-encrypting", "verifying")
_NEXT_PAGE = re.compile(r"^/(?:revoke|renew|password)/[0-9a-f]{16}$")


def _t(app: ManagerApp, request: Request) -> Translate:
    return translator(app.language(request))


def _not_found(app: ManagerApp, request: Request) -> Response:
    _ = _t(app, request)
    session = app.session_for_page(request)
    return app.render(
        request,
        session,
        "message.html",
        status=404,
        title=_("Keystore not found"),
        text=_("This keystore is no longer in the folder. Go back to the list."),
    )


def _keystore(app: ManagerApp, key: str) -> KeystoreFile | None:
    return app.keystore_files().get(key)


async def _keystore_page(app: ManagerApp, request: Request, template: str) -> Response:
    """The first page of a flow on the keystore in the URL, with its summary if unlocked."""
    item = _keystore(app, request.path_params["key"])
    if item is None:
        return _not_found(app, request)
    session = app.session_for_page(request)
    summary = await run_in_threadpool(app.unlocked, session, item)
    return app.render(request, session, template, file=item, summary=summary, errors={})


async def _keystore_form(
    app: ManagerApp, request: Request
) -> tuple[Session, dict[str, str], KeystoreFile] | Response:
    """A form posted about the keystore in the URL: after :meth:`ManagerApp.form`'s checks,
    the session, the fields and the keystore, or the page that refuses."""
    checked = await app.form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    item = _keystore(app, request.path_params["key"])
    if item is None:
        return _not_found(app, request)
    return session, fields, item


# --- home and unlock --------------------------------------------------------------------------


def _row(app: ManagerApp, session: Any, item: KeystoreFile) -> dict[str, Any]:
    summary = app.unlocked(session, item)
    row: dict[str, Any] = {"file": item, "summary": summary, "status": None, "state": "locked"}
    if summary is None:
        return row
    view = summary.certificate
    status = app.platform_status(view.serial) if app.settings.platform_url else None
    row["status"] = status
    if status is not None and status.status is CertificateState.REVOKED:
        row["state"] = "revoked"
    elif view.expired:
        row["state"] = "expired"
    elif view.renewal_window_open:
        row["state"] = "renewal-open"
    elif status is None:
        # Not revoked as far as this computer knows, which is nothing: never "valid".
        row["state"] = "unknown"
    else:
        row["state"] = "valid"
    return row


async def home(app: ManagerApp, request: Request) -> Response:
    session = app.session_for_page(request)
    files = list(app.keystore_files().values())
    rows = [await run_in_threadpool(_row, app, session, item) for item in files]
    folder_exists = app.settings.keystore_dir.is_dir()
    return app.render(
        request, session, "home.html", rows=rows, folder_exists=folder_exists, now=app.now()
    )


async def unlock(app: ManagerApp, request: Request) -> Response:
    checked = await app.form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    _ = _t(app, request)
    item = _keystore(app, fields.get("key", ""))
    if item is None:
        return _not_found(app, request)
    next_page = fields.get("next", "")
    target = next_page if _NEXT_PAGE.match(next_page) else "/"
    try:
        summary = await run_in_threadpool(
            app.remember, session, item.path, fields.get("password", "")
        )
    except EhcertError as error:
        app.flash(session, "error", f"{item.path.name}: {app.shown(request, error)['text']}")
        return app.redirect(request, target)
    holder = readable_identifier(summary.holder, app.language(request))
    app.flash(session, "ok", _("Unlocked %(holder)s.", holder=holder))
    return app.redirect(request, target)


# --- renew ------------------------------------------------------------------------------------


async def renew_form(app: ManagerApp, request: Request) -> Response:
    return await _keystore_page(app, request, "renew.html")


async def renew_submit(app: ManagerApp, request: Request) -> Response:
    checked = await _keystore_form(app, request)
    if isinstance(checked, Response):
        return checked
    session, fields, item = checked
    password = fields.get("password", "")
    try:
        summary = await run_in_threadpool(app.remember, session, item.path, password)
        if app.settings.platform_url is None:
            app.client()  # raises the "no platform" refusal
    except EhcertError as error:
        return app.render(
            request,
            session,
            "renew.html",
            status=400,
            file=item,
            summary=app.unlocked(session, item),
            errors={"password": app.shown(request, error)},
        )
    if not summary.certificate.renewal_window_open:
        return app.render(
            request, session, "renew.html", status=400, file=item, summary=summary, errors={}
        )

    def work(report: StepReporter) -> dict[str, Any]:
        with app.client() as client:
            path = renew_certificate(
                client,
                item.path,
                password,
                app.now(),
                progress=lambda step: report(step.value),
                key_size=app.settings.key_size,
            )
        new_summary = app.remember(session, path, password)
        return {"path": path, "summary": new_summary, "old": item.path}

    job = app.jobs.start(session.session_id, "renew", RENEW_STEPS, work)
    return app.redirect(request, f"/jobs/{job.job_id}")


# --- revoke -----------------------------------------------------------------------------------


async def revoke_form(app: ManagerApp, request: Request) -> Response:
    return await _keystore_page(app, request, "revoke.html")


async def revoke_reason(app: ManagerApp, request: Request) -> Response:
    checked = await _keystore_form(app, request)
    if isinstance(checked, Response):
        return checked
    session, fields, item = checked
    _ = _t(app, request)
    summary = await run_in_threadpool(app.unlocked, session, item)
    reason = fields.get("reason", "")
    if summary is None or reason not in HOLDER_REASONS:
        errors = {} if summary is None else {"reason": {"text": _("Choose a reason.")}}
        return app.render(
            request, session, "revoke.html", status=400, file=item, summary=summary, errors=errors
        )
    return app.render(
        request,
        session,
        "revoke_confirm.html",
        file=item,
        summary=summary,
        reason=reason,
        errors={},
    )


def _revoke(app: ManagerApp, path: Path, password: str, serial: str, reason: str) -> Any:
    """Revoke only if the keystore still holds the certificate the user confirmed."""
    current = read_keystore_file(path, password).authentication().certificate
    if serial_of(current) != serial:
        raise EhcertError(
            ErrorKind.CONFLICT,
            "The keystore changed since the confirmation page was shown; start again.",
        )
    with app.client() as client:
        return revoke_certificate(client, path, password, reason)


async def revoke_confirm(app: ManagerApp, request: Request) -> Response:
    checked = await _keystore_form(app, request)
    if isinstance(checked, Response):
        return checked
    session, fields, item = checked
    _ = _t(app, request)
    summary: KeystoreSummary | None = await run_in_threadpool(app.unlocked, session, item)
    reason = fields.get("reason", "")
    if summary is None or reason not in HOLDER_REASONS:
        return app.redirect(request, f"/revoke/{item.key}")
    try:
        status = await run_in_threadpool(
            _revoke, app, item.path, fields.get("password", ""), fields.get("serial", ""), reason
        )
    except EhcertError as error:
        return app.render(
            request,
            session,
            "revoke_confirm.html",
            status=400,
            file=item,
            summary=summary,
            reason=reason,
            errors={"password": app.shown(request, error)},
        )
    app.flash(
        session,
        "ok",
        _(
            "Certificate %(serial)s of %(holder)s is revoked.",
            serial=status.serial,
            holder=readable_identifier(summary.holder, app.language(request)),
        ),
    )
    return app.redirect(request, "/")


# --- change password --------------------------------------------------------------------------


async def password_form(app: ManagerApp, request: Request) -> Response:
    item = _keystore(app, request.path_params["key"])
    if item is None:
        return _not_found(app, request)
    session = app.session_for_page(request)
    return app.render(request, session, "password.html", file=item, errors={})


async def password_submit(app: ManagerApp, request: Request) -> Response:
    checked = await _keystore_form(app, request)
    if isinstance(checked, Response):
        return checked
    session, fields, item = checked
    _ = _t(app, request)
    errors: dict[str, str] = {}
    if not fields.get("old_password"):
        errors["old_password"] = _("Give the current password.")
    new_password_errors(fields, _, errors)
    if not errors and fields["new_password"] == fields["old_password"]:
        errors["new_password"] = _("The new password is the same as the old one.")
    if errors:
        shown = {field: {"text": text} for field, text in errors.items()}
        return app.render(request, session, "password.html", status=400, file=item, errors=shown)
    old, new = fields["old_password"], fields["new_password"]

    def work(report: StepReporter) -> dict[str, Any]:
        report("reading")

        def checkpoint(step: ChangeStep) -> None:
            if step is ChangeStep.OLD_READ:
                report("re-encrypting")
            elif step is ChangeStep.TEMPORARY_SYNCED:
                report("verifying")

        change_password(item.path, old, new, checkpoint=checkpoint)
        summary = app.remember(session, item.path, new)
        return {"path": item.path, "summary": summary}

    job = app.jobs.start(session.session_id, "password", PASSWORD_STEPS, work)
    return app.redirect(request, f"/jobs/{job.job_id}")


# --- progress ---------------------------------------------------------------------------------


async def job_page(app: ManagerApp, request: Request) -> Response:
    session = app.session_of(request)
    job = app.jobs.get(request.path_params["job_id"], session.session_id) if session else None
    if session is None or job is None:
        _ = _t(app, request)
        return app.render(
            request,
            app.session_for_page(request),
            "message.html",
            status=404,
            title=_("Unknown task"),
            text=_("This task is unknown; it may belong to another browser. Go back to the list."),
        )
    error = app.shown(request, job.error) if job.error is not None else None
    headers = None if job.finished else {"Refresh": "1"}
    return app.render(request, session, "job.html", job=job, error=error, headers=headers)
