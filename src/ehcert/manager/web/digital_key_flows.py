"""Requesting a certificate with a digital key in the web UI (the hybrid method).

A care provider without a Belgian eID got a digital key at a registration office
(docs/foreign-providers.md): a username, a password and the codes of an authenticator
app. The page asks for those three and the new keystore's password, in one step (there
is no eID to open first), and runs the request as a job like the eID flow does
(:mod:`.eid_flows`). The digital key's password and the code are never sent back to
the page, not even after a refusal; a code is accepted once, so a refused request
needs the next one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from ehcert.client.platform import DigitalKeyLogin
from ehcert.core.keys import REQUEST_KEY_TYPES
from ehcert.manager.certificates import request_certificate
from ehcert.manager.web.eid_flows import key_type_choice, key_type_labels, new_password_errors
from ehcert.manager.web.i18n import translator
from ehcert.manager.web.jobs import StepReporter

if TYPE_CHECKING:
    from ehcert.manager.web.app import ManagerApp
    from ehcert.manager.web.security import Session

DIGITAL_KEY_STEPS = ("checking-folder", "generating-key", "requesting", "writing-keystore")
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
_CODE = re.compile(r"[0-9]{6}")
_SECRET_FIELDS = ("key_password", "code", "new_password", "new_password_confirm", "csrf")


def _page(
    app: ManagerApp,
    request: Request,
    session: Session,
    *,
    values: dict[str, str],
    errors: dict[str, Any],
) -> Response:
    _ = translator(app.language(request))
    return app.render(
        request,
        session,
        "digital_key.html",
        status=400 if errors else 200,
        key_types=REQUEST_KEY_TYPES,
        key_type_labels=key_type_labels(_),
        values=values,
        errors=errors,
    )


async def digital_key_form(app: ManagerApp, request: Request) -> Response:
    return _page(app, request, app.session_for_page(request), values={}, errors={})


async def digital_key_submit(app: ManagerApp, request: Request) -> Response:
    checked = await app.form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    _ = translator(app.language(request))
    errors: dict[str, str] = {}
    username = fields.get("username", "").strip().lower()
    if not _USERNAME.fullmatch(username):
        errors["username"] = _("Give the username of your digital key, as the office wrote it.")
    if not fields.get("key_password", ""):
        errors["key_password"] = _("Give the password of your digital key.")
    code = fields.get("code", "").replace(" ", "")
    if not _CODE.fullmatch(code):
        errors["code"] = _("Give the 6 digits your authenticator app shows now.")
    key_type = key_type_choice(fields, _, errors)
    new_password_errors(fields, _, errors)
    if errors:
        kept = {k: v for k, v in fields.items() if k not in _SECRET_FIELDS}
        return _page(app, request, session, values=kept, errors=errors)
    login = DigitalKeyLogin(username, fields["key_password"], code)
    password = fields["new_password"]

    def work(report: StepReporter) -> dict[str, Any]:
        report("checking-folder")
        with app.client() as client:
            path = request_certificate(
                client,
                login,
                institution=None,
                application_id=None,
                out_dir=app.settings.keystore_dir,
                password=password,
                now=app.now(),
                progress=lambda step: report(step.value),
                key_size=app.settings.key_size,
                key_type=key_type,
            )
        summary = app.remember(session, path, password)
        return {"path": path, "summary": summary}

    job = app.jobs.start(session.session_id, "request", DIGITAL_KEY_STEPS, work)
    return app.redirect(request, f"/jobs/{job.job_id}")
