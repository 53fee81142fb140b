"""The eID step: which card (or eID file), and its PIN; nothing else is asked.

Requesting a certificate and revoking one without its keystore both start by proving
who one is with the eID. The page lists the cards the eID middleware sees, each with
its holder's name read from the card (:mod:`ehcert.manager.eid_middleware`); a person
picks theirs and types the PIN. In acceptance, an eID in a PKCS#12 file is picked with
the browser's file chooser and uploaded to this local manager (never a typed path). An
"advanced" disclosure keeps the engineer's way: a PKCS#11 module path, a token and a
key label.

Once the eID is open, the manager asks the platform what this person may do with it,
because that is what the next page offers as choices rather than typed text: for a
request, ``POST /v1/qualities`` (themself, the institutions they hold a mandate for)
and ``POST /v1/application-ids`` for each of those institutions; for a revocation,
``POST /v1/revocable``. All are signed with the eID.

What is kept between the two pages (:class:`OpenEid`, in the server's memory for this
browser's session only, never on disk) is the opened credential, not the PIN text: the
PKCS#12 key in memory, or for a card the PKCS#11 library's logged-in session (which
holds the PIN inside that library object). It is dropped, and the card logged out, as
soon as the flow ends, when another eID is opened, when the person cancels, or after
:data:`EID_KEPT_SECONDS`. PINs are never logged, echoed into a page or written.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ehcert.client.eid import BELGIAN_EID_AUTHENTICATION_LABEL, EidCredential, Pkcs12EidCredential
from ehcert.client.keys import EidRequestSigner
from ehcert.client.results import CertificateState, CertificateStatus, Qualities
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.manager.eid_middleware import (
    EidCard,
    EidModule,
    certificate_holder,
    close_card,
    find_eid_module,
    list_eid_cards,
    open_card,
)
from ehcert.manager.web.i18n import Translate, translator
from ehcert.manager.web.uploads import Upload

if TYPE_CHECKING:
    from ehcert.manager.web.app import ManagerApp
    from ehcert.manager.web.security import Session

PURPOSES = ("request", "revoke")
NEXT_PAGE = {"request": "/request", "revoke": "/revoke-eid"}
EID_KEPT_SECONDS = 600
_SESSION_KEY = "eid"


@dataclass
class OpenEid:
    """An eID opened with its PIN for one flow, and what the platform said it may do."""

    purpose: str
    credential: EidCredential
    holder_name: str | None
    ssin: str | None
    card: tuple[str, str] | None  # (module, token label): logged out when dropped
    opened_at: float = field(default_factory=time.monotonic)
    qualities: Qualities | None = None
    application_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)
    revocable: tuple[CertificateStatus, ...] = ()

    def close(self) -> None:
        if self.card is not None:
            close_card(*self.card)


class _EidProblem(Exception):
    """What went wrong opening the eID, and next to which field to say it."""

    def __init__(self, field_name: str, error: EhcertError) -> None:
        super().__init__(error.detail)
        self.field_name = field_name
        self.error = error


def current_eid(session: Session, purpose: str) -> OpenEid | None:
    """The session's open eID for ``purpose``, unless it expired (then it is dropped)."""
    opened = session.pending.get(_SESSION_KEY)
    if not isinstance(opened, OpenEid):
        return None
    if time.monotonic() - opened.opened_at > EID_KEPT_SECONDS:
        forget_eid(session)
        return None
    return opened if opened.purpose == purpose else None


def keep_eid(session: Session, opened: OpenEid) -> None:
    """Keep ``opened`` for the session's next page, and drop it after
    :data:`EID_KEPT_SECONDS` even if the browser never comes back."""
    forget_eid(session)
    session.pending[_SESSION_KEY] = opened

    def expire() -> None:
        if session.pending.get(_SESSION_KEY) is opened:  # not taken by a job meanwhile
            session.pending.pop(_SESSION_KEY, None)
            opened.close()

    timer = threading.Timer(EID_KEPT_SECONDS, expire)
    timer.daemon = True
    timer.start()


def take_eid(session: Session) -> None:
    """Remove the open eID from the session without logging the card out (a job that
    still needs it does that when it ends)."""
    session.pending.pop(_SESSION_KEY, None)


def forget_eid(session: Session) -> None:
    """Drop the session's open eID and log its card out."""
    opened = session.pending.pop(_SESSION_KEY, None)
    if isinstance(opened, OpenEid):
        opened.close()


# --- what the page shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class Detected:
    """What the eID page can offer: the module found, its cards, or why there are none."""

    module: EidModule | None
    cards: tuple[EidCard, ...]
    problem: EhcertError | None


def detect(setting: str | None) -> Detected:
    try:
        module = find_eid_module(setting)
    except EhcertError as problem:
        return Detected(None, (), problem)
    if module is None:
        return Detected(None, (), None)
    try:
        return Detected(module, tuple(list_eid_cards(module)), None)
    except EhcertError as problem:
        return Detected(module, (), problem)


def _page(
    app: ManagerApp,
    request: Request,
    session: Session,
    purpose: str,
    detected: Detected,
    *,
    values: dict[str, str],
    errors: dict[str, Any],
) -> Response:
    eid_cards = [card for card in detected.cards if card.is_eid]
    if "source" not in values:
        values = {**values, "source": f"card:{eid_cards[0].token_label}" if eid_cards else "file"}
    problem = app.shown(request, detected.problem) if detected.problem else None
    return app.render(
        request,
        session,
        "eid.html",
        status=400 if errors else 200,
        purpose=purpose,
        module=detected.module,
        cards=eid_cards,
        module_problem=problem,
        values=values,
        errors=errors,
        default_key_label=BELGIAN_EID_AUTHENTICATION_LABEL,
    )


def _purpose(request: Request) -> str | None:
    purpose = request.path_params.get("purpose")
    return purpose if purpose in PURPOSES else None


async def eid_form(app: ManagerApp, request: Request) -> Response:
    purpose = _purpose(request)
    session = app.session_for_page(request)
    if purpose is None:
        _ = translator(app.language(request))
        return app.render(
            request,
            session,
            "message.html",
            status=404,
            title=_("Page not found"),
            text=_("This page does not exist. Go back to the list."),
        )
    detected = await run_in_threadpool(detect, app.settings.eid_module)
    return _page(app, request, session, purpose, detected, values={}, errors={})


# --- opening the eID -------------------------------------------------------------------------


def _form_errors(fields: dict[str, str], files: dict[str, Upload], _: Translate) -> dict[str, str]:
    errors: dict[str, str] = {}
    source = fields.get("source", "")
    if source == "file":
        if "eid_file" not in files:
            errors["eid_file"] = _("Choose your eID file (PKCS#12) with the button.")
    elif source == "advanced":
        if not Path(fields.get("pkcs11_module", "").strip()).is_file():
            errors["pkcs11_module"] = _("No PKCS#11 module exists at this path.")
        if not fields.get("token_label", "").strip():
            errors["token_label"] = _("Give the label of the card or token.")
    elif not source.startswith("card:") or not source.removeprefix("card:"):
        errors["source"] = _("Choose your eID card or an eID file.")
    if not fields.get("pin"):
        errors["pin"] = _("Give the PIN of your eID (or the password of the eID file).")
    return errors


def _credential(
    app: ManagerApp, fields: dict[str, str], files: dict[str, Upload]
) -> tuple[EidCredential, tuple[str, str] | None]:
    source, pin = fields["source"], fields["pin"]
    if source == "file":
        upload = files["eid_file"]
        try:
            return Pkcs12EidCredential.from_bytes(upload.data, pin, name="The eID file"), None
        except EhcertError as error:
            raise _EidProblem("pin" if error.field == "pin" else "eid_file", error) from None
    if source == "advanced":
        module = fields["pkcs11_module"].strip()
        label = fields["token_label"].strip()
        key_label = fields.get("key_label", "").strip() or BELGIAN_EID_AUTHENTICATION_LABEL
    else:
        try:
            found = find_eid_module(app.settings.eid_module)
        except EhcertError as error:
            raise _EidProblem("source", error) from None
        if found is None:
            raise _EidProblem(
                "source",
                EhcertError(ErrorKind.UNAVAILABLE, "The eID middleware is no longer found."),
            )
        module, label = str(found.path), source.removeprefix("card:")
        key_label = BELGIAN_EID_AUTHENTICATION_LABEL
    try:
        credential = open_card(module, label, pin, key_label)
    except EhcertError as error:
        close_card(module, label)
        where = "pin" if error.kind is ErrorKind.UNAUTHORIZED else "source"
        if source == "advanced" and where == "source":
            where = "token_label"
        raise _EidProblem(where, error) from None
    return credential, (str(Path(module)), label)


def _open(
    app: ManagerApp, purpose: str, fields: dict[str, str], files: dict[str, Upload]
) -> OpenEid:
    """Open the eID and ask the platform what it may be used for (see the module doc)."""
    credential, card = _credential(app, fields, files)
    name, ssin = certificate_holder(credential.certificate)
    opened = OpenEid(purpose, credential, name, ssin, card)
    try:
        signer = EidRequestSigner(credential)
        with app.client() as client:
            if purpose == "request":
                opened.qualities = client.qualities(signer)
                for institution in opened.qualities.institutions:
                    if institution.allowed:
                        answer = client.application_ids(signer, institution.holder)
                        opened.application_ids[institution.holder] = answer.application_ids
            else:
                opened.revocable = tuple(
                    status
                    for status in client.revocable(signer)
                    if status.status is CertificateState.VALID
                )
    except EhcertError as error:
        opened.close()
        raise _EidProblem("platform", error) from None
    except BaseException:
        opened.close()
        raise
    return opened


def _problem_text(
    app: ManagerApp, request: Request, problem: _EidProblem, card: bool
) -> dict[str, str | None]:
    _ = translator(app.language(request))
    error = problem.error
    if problem.field_name == "pin" and error.kind is ErrorKind.UNAUTHORIZED:
        if "locked" in error.detail:
            return {"text": _("The PIN of this card is locked."), "original": None}
        if card:
            return {"text": _("The PIN is wrong."), "original": None}
    return app.shown(request, error)


async def eid_submit(app: ManagerApp, request: Request) -> Response:
    purpose = _purpose(request)
    checked = await app.upload_form(request)
    if isinstance(checked, Response):
        return checked
    session, fields, files = checked
    _ = translator(app.language(request))
    if purpose is None:
        return app.redirect(request, "/")
    kept = {k: v for k, v in fields.items() if k in {"source", "pkcs11_module", "token_label"}}
    kept["key_label"] = fields.get("key_label", "")
    errors: dict[str, Any] = dict(_form_errors(fields, files, _))
    if app.settings.platform_url is None:
        errors["platform"] = _(
            "No platform address was given; start the manager with --platform URL."
        )
    if not errors:
        try:
            opened = await run_in_threadpool(_open, app, purpose, fields, files)
        except _EidProblem as problem:
            card = fields.get("source", "") != "file"
            errors[problem.field_name] = _problem_text(app, request, problem, card)
        else:
            keep_eid(session, opened)
            return app.redirect(request, NEXT_PAGE[purpose])
    detected = await run_in_threadpool(detect, app.settings.eid_module)
    return _page(app, request, session, purpose, detected, values=kept, errors=errors)


async def eid_forget(app: ManagerApp, request: Request) -> Response:
    """Cancel: drop the open eID (and log the card out), back to the list."""
    checked = await app.form(request)
    if isinstance(checked, Response):
        return checked
    session, _fields = checked
    forget_eid(session)
    return app.redirect(request, "/")
