"""What follows the eID step: the request's choices, and revoking with the eID.

The request page offers what the platform answered for this eID (:mod:`.eid_step`):
"for myself" when the person may hold a certificate, each institution they hold a
mandate for, and under an institution, only once it is chosen, its application ids
(the existing ones from ``/v1/application-ids``, or a new one). Choices the platform
refused are shown with its reason, not offered. Then the new keystore's password.

The progressive disclosure is CSS only (``:has()``, the page runs no script under its
Content-Security-Policy): a browser without ``:has()`` shows every sub-choice, which
still works, since the server reads only the sub-choice of the chosen holder.

Revoking with the eID (for a lost keystore or password) lists the certificates the
platform says this eID may revoke (``/v1/revocable``), asks for the reason, and
confirms, naming the certificate, before anything is revoked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ehcert.core.errors import EhcertError
from ehcert.core.identifiers import validate_application_id
from ehcert.core.keys import REQUEST_KEY_TYPES
from ehcert.core.revocation import HOLDER_REASONS
from ehcert.manager.certificates import request_certificate
from ehcert.manager.password import password_problems
from ehcert.manager.revocation import revoke_with_eid
from ehcert.manager.web.eid_step import OpenEid, current_eid, forget_eid, take_eid
from ehcert.manager.web.i18n import Translate, readable_identifier, translator
from ehcert.manager.web.jobs import StepReporter
from ehcert.manager.web.messages import password_problem_text

if TYPE_CHECKING:
    from ehcert.client.results import CertificateStatus, InstitutionQuality
    from ehcert.manager.web.app import ManagerApp
    from ehcert.manager.web.security import Session

REQUEST_STEPS = ("checking", "generating-key", "requesting", "writing-keystore")
NEW_APPLICATION = "new"


def _allowed_institutions(opened: OpenEid) -> list[InstitutionQuality]:
    if opened.qualities is None:
        return []
    return [item for item in opened.qualities.institutions if item.allowed]


def _request_page(
    app: ManagerApp,
    request: Request,
    session: Session,
    opened: OpenEid,
    *,
    values: dict[str, str],
    errors: dict[str, Any],
) -> Response:
    qualities = opened.qualities
    allowed = _allowed_institutions(opened)
    may_self = qualities is not None and qualities.as_self.allowed
    if "holder" not in values:
        values = {**values, "holder": "self" if may_self or not allowed else "institution-0"}
    _ = translator(app.language(request))
    return app.render(
        request,
        session,
        "request.html",
        status=400 if errors else 200,
        opened=opened,
        qualities=qualities,
        may_self=may_self,
        institutions=allowed,
        refused=[i for i in (qualities.institutions if qualities else ()) if not i.allowed],
        application_ids=opened.application_ids,
        key_types=REQUEST_KEY_TYPES,
        key_type_labels=key_type_labels(_),
        values=values,
        errors=errors,
    )


def key_type_labels(_: Translate) -> dict[str, str]:
    """How each key type a request may choose (``core.keys.REQUEST_KEY_TYPES``) reads."""
    return {
        "rsa-2048": _("RSA 2048 bits"),
        "rsa-3072": _("RSA 3072 bits"),
        "ec-p256": _("EC P-256"),
        "ec-p384": _("EC P-384 (as on today's eID cards)"),
    }


def key_type_choice(fields: dict[str, str], _: Translate, errors: dict[str, str]) -> str | None:
    """The key type chosen, None for the platform's advice (``/health``)."""
    chosen = fields.get("key_type", "")
    if chosen == "":
        return None
    if chosen not in REQUEST_KEY_TYPES:
        errors["key_type"] = _("Choose one of the key types offered.")
        return None
    return chosen


async def request_form(app: ManagerApp, request: Request) -> Response:
    session = app.session_for_page(request)
    opened = current_eid(session, "request")
    if opened is None:
        return app.redirect(request, "/eid/request")
    return _request_page(app, request, session, opened, values={}, errors={})


def new_password_errors(fields: dict[str, str], _: Translate, errors: dict[str, str]) -> None:
    """The one password rule (:mod:`ehcert.manager.password`) and the confirmation."""
    password = fields.get("new_password", "")
    problems = password_problems(password)
    if problems:
        errors["new_password"] = password_problem_text(problems[0], _)
    elif password != fields.get("new_password_confirm", ""):
        errors["new_password_confirm"] = _("The two new passwords are not the same.")


def _holder_choice(
    opened: OpenEid, fields: dict[str, str], _: Translate, errors: dict[str, str]
) -> tuple[str | None, str | None]:
    """``(institution, application id)`` from the choices; ``(None, None)`` is myself."""
    holder = fields.get("holder", "")
    if holder == "self":
        if opened.qualities is None or not opened.qualities.as_self.allowed:
            errors["holder"] = _("Choose one of the holders offered.")
        return None, None
    allowed = _allowed_institutions(opened)
    index_text = holder.removeprefix("institution-")
    if not holder.startswith("institution-") or not index_text.isdigit():
        errors["holder"] = _("Choose one of the holders offered.")
        return None, None
    index = int(index_text)
    if index >= len(allowed):
        errors["holder"] = _("Choose one of the holders offered.")
        return None, None
    institution = allowed[index].holder
    choice = fields.get(f"application-{index}", "")
    if choice == "":
        return institution, None
    if choice == NEW_APPLICATION:
        typed = fields.get(f"new_application-{index}", "").strip()
        try:
            return institution, validate_application_id(typed)
        except ValueError:
            errors[f"new_application-{index}"] = _(
                "An application id has 1 to 30 capital letters, digits, - or _."
            )
            return institution, None
    if choice not in opened.application_ids.get(institution, ()):
        errors["holder"] = _("Choose one of the application ids offered.")
    return institution, choice


async def _form_with_eid(
    app: ManagerApp, request: Request, purpose: str, *, say_closed: bool
) -> tuple[Session, dict[str, str], Translate, OpenEid] | Response:
    """A posted form of the ``purpose`` flow (``request`` or ``revoke``) with the eID it
    opened; otherwise the answer to send: the form's own refusal, or a redirect back to
    the eID step (with a notice when ``say_closed``)."""
    checked = await app.form(request)
    if isinstance(checked, Response):
        return checked
    session, fields = checked
    _ = translator(app.language(request))
    opened = current_eid(session, purpose)
    if opened is None:
        if say_closed:
            app.flash(session, "error", _("Your eID was closed; open it again to go on."))
        return app.redirect(request, f"/eid/{purpose}")
    return session, fields, _, opened


async def request_submit(app: ManagerApp, request: Request) -> Response:
    found = await _form_with_eid(app, request, "request", say_closed=True)
    if isinstance(found, Response):
        return found
    session, fields, _, opened = found
    errors: dict[str, str] = {}
    institution, application = _holder_choice(opened, fields, _, errors)
    key_type = key_type_choice(fields, _, errors)
    new_password_errors(fields, _, errors)
    if errors:
        kept = {k: v for k, v in fields.items() if not k.startswith("new_password") and k != "csrf"}
        return _request_page(app, request, session, opened, values=kept, errors=errors)
    password = fields["new_password"]
    take_eid(session)

    def work(report: StepReporter) -> dict[str, Any]:
        report("checking")
        try:
            with app.client() as client:
                path = request_certificate(
                    client,
                    opened.credential,
                    institution=institution,
                    application_id=application,
                    out_dir=app.settings.keystore_dir,
                    password=password,
                    now=app.now(),
                    progress=lambda step: report(step.value),
                    key_size=app.settings.key_size,
                    key_type=key_type,
                )
        finally:
            opened.close()
        summary = app.remember(session, path, password)
        return {"path": path, "summary": summary}

    job = app.jobs.start(session.session_id, "request", REQUEST_STEPS, work)
    return app.redirect(request, f"/jobs/{job.job_id}")


# --- revoking with the eID -------------------------------------------------------------------


def _revoke_page(
    app: ManagerApp,
    request: Request,
    session: Session,
    opened: OpenEid,
    *,
    values: dict[str, str],
    errors: dict[str, Any],
) -> Response:
    return app.render(
        request,
        session,
        "revoke_eid.html",
        status=400 if errors else 200,
        opened=opened,
        certificates=opened.revocable,
        values=values,
        errors=errors,
    )


async def revoke_eid_form(app: ManagerApp, request: Request) -> Response:
    session = app.session_for_page(request)
    opened = current_eid(session, "revoke")
    if opened is None:
        return app.redirect(request, "/eid/revoke")
    return _revoke_page(app, request, session, opened, values={}, errors={})


def _chosen(
    opened: OpenEid, fields: dict[str, str], _: Translate, errors: dict[str, str]
) -> tuple[CertificateStatus | None, str]:
    serial, reason = fields.get("serial", ""), fields.get("reason", "")
    chosen = next((c for c in opened.revocable if c.serial == serial), None)
    if chosen is None:
        errors["serial"] = _("Choose the certificate to revoke.")
    if reason not in HOLDER_REASONS:
        errors["reason"] = _("Choose a reason.")
    return chosen, reason


async def revoke_eid_reason(app: ManagerApp, request: Request) -> Response:
    found = await _form_with_eid(app, request, "revoke", say_closed=False)
    if isinstance(found, Response):
        return found
    session, fields, _, opened = found
    errors: dict[str, str] = {}
    chosen, reason = _chosen(opened, fields, _, errors)
    if errors or chosen is None:
        return _revoke_page(app, request, session, opened, values=fields, errors=errors)
    return app.render(
        request,
        session,
        "revoke_eid_confirm.html",
        opened=opened,
        chosen=chosen,
        reason=reason,
        errors={},
    )


async def revoke_eid_confirm(app: ManagerApp, request: Request) -> Response:
    found = await _form_with_eid(app, request, "revoke", say_closed=True)
    if isinstance(found, Response):
        return found
    session, fields, _, opened = found
    errors: dict[str, str] = {}
    chosen, reason = _chosen(opened, fields, _, errors)
    if errors or chosen is None:
        return _revoke_page(app, request, session, opened, values=fields, errors=errors)

    def revoke() -> CertificateStatus:
        with app.client() as client:
            return revoke_with_eid(client, opened.credential, chosen.serial, reason)

    try:
        status = await run_in_threadpool(revoke)
    except EhcertError as error:
        return app.render(
            request,
            session,
            "revoke_eid_confirm.html",
            status=400,
            opened=opened,
            chosen=chosen,
            reason=reason,
            errors={"platform": app.shown(request, error)},
        )
    forget_eid(session)
    app.flash(
        session,
        "ok",
        _(
            "Certificate %(serial)s of %(holder)s is revoked.",
            serial=status.serial,
            holder=readable_identifier(status.holder, app.language(request)),
        ),
    )
    return app.redirect(request, "/")
