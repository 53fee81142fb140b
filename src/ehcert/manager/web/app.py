"""The Certificate Manager web application: pages, forms and the flows behind them.

Every flow is a thin layer over :mod:`ehcert.manager` (the same functions the ``ehcert
cert`` commands call): request, renew, revoke, change password. What this module adds
is what a person in front of a browser needs: plain-language pages in their language,
forms that keep what was typed (never secrets) and say next to each field what is wrong,
a confirmation step before the irreversible revocation, and a progress page for steps
that take seconds (:mod:`ehcert.manager.web.jobs`). Security: :mod:`.security`.

Keystore certificates are encrypted under the password, so the home page shows what the
file names say until the user *unlocks* a keystore with its password; the session then
keeps that keystore's public certificate (never the password or a key) to show expiry,
renewal window and platform status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from cryptography import x509
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ehcert.client.platform import PlatformClient
from ehcert.client.results import CertificateStatus
from ehcert.core.clock import Clock, SystemClock
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import KEY_POLICY
from ehcert.manager.certificate_views import describe_certificate
from ehcert.manager.keystores import KeystoreFile, KeystoreSummary, find_keystores, summarise
from ehcert.manager.web.i18n import LANGUAGE_NAMES, LANGUAGES, environment, negotiate, translator
from ehcert.manager.web.jobs import JobRunner
from ehcert.manager.web.messages import (
    ENVIRONMENTS,
    HOLDER_KINDS,
    REASON_LABELS,
    STEP_LABELS,
    shown_error,
)
from ehcert.manager.web.security import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Session,
    Sessions,
    same_origin,
)
from ehcert.manager.web.uploads import MAX_UPLOAD_BYTES, Upload, UploadRefused, parse_multipart_all
from ehcert.pki.keystore import read_keystore_file

MAX_FORM_BYTES = 64 * 1024
STATIC_DIR = Path(__file__).parent / "static"


@dataclasses.dataclass(frozen=True)
class ManagerSettings:
    """What the UI works on. ``clock`` and ``transport`` are for embedding and tests."""

    keystore_dir: Path
    platform_url: str | None
    secret: str
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    transport: httpx.BaseTransport | None = None
    key_size: int = KEY_POLICY.rsa_default_bits
    status_timeout_seconds: float = 5.0
    eid_module: str | None = None  # the eID middleware's PKCS#11 module; found if None
    keystore_dir_label: str | None = None  # how the folder is shown; its path if None

    @property
    def shown_keystore_dir(self) -> str:
        """The folder as the footer shows it: the home folder written as ``~``."""
        if self.keystore_dir_label is not None:
            return self.keystore_dir_label
        try:
            return "~/" + str(self.keystore_dir.relative_to(Path.home()))
        except (ValueError, RuntimeError):  # not under the home folder, or no home
            return str(self.keystore_dir)


@dataclasses.dataclass(frozen=True)
class Unlocked:
    """The public part of an unlocked keystore, kept in the session."""

    mtime_ns: int
    summary: KeystoreSummary
    certificate: x509.Certificate


class ManagerApp:
    """The state of one UI process: settings, sessions and jobs."""

    def __init__(self, settings: ManagerSettings) -> None:
        self.settings = settings
        self.sessions = Sessions()
        self.jobs = JobRunner()

    # --- plumbing -------------------------------------------------------------------------

    def client(self, timeout: float | None = None) -> PlatformClient:
        if self.settings.platform_url is None:
            raise EhcertError(
                ErrorKind.UNAVAILABLE,
                "No platform address was given; start the manager with --platform URL.",
            )
        return PlatformClient(
            self.settings.platform_url,
            timeout=timeout or 30.0,
            transport=self.settings.transport,
        )

    def now(self) -> dt.datetime:
        return self.settings.clock.now()

    def keystore_files(self) -> dict[str, KeystoreFile]:
        try:
            return {item.key: item for item in find_keystores(self.settings.keystore_dir)}
        except EhcertError:
            return {}

    def remember(self, session: Session, path: Path, password: str) -> KeystoreSummary:
        """Read ``path`` and keep its public view in ``session`` (the password is not kept)."""
        keystore = read_keystore_file(path, password)
        summary = summarise(path, keystore, self.now())
        certificate = keystore.authentication().certificate
        key = KeystoreFile(path, None, None, None).key
        session.unlocked[key] = Unlocked(path.stat().st_mtime_ns, summary, certificate)
        return summary

    def unlocked(self, session: Session, item: KeystoreFile) -> KeystoreSummary | None:
        """The session's view of ``item`` recomputed at now, if unlocked and unchanged."""
        known = session.unlocked.get(item.key)
        if not isinstance(known, Unlocked):
            return None
        try:
            if item.path.stat().st_mtime_ns != known.mtime_ns:
                return None
        except OSError:
            return None
        view = describe_certificate(known.certificate, self.now())
        return dataclasses.replace(known.summary, certificate=view)

    def platform_status(self, serial: str) -> CertificateStatus | None:
        try:
            with self.client(self.settings.status_timeout_seconds) as client:
                return client.status(serial)
        except EhcertError:
            return None

    def language(self, request: Request) -> str:
        chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
        if chosen in LANGUAGES:
            return str(chosen)
        return negotiate(request.headers.get("accept-language"))

    def session_of(self, request: Request) -> Session | None:
        return self.sessions.get(request.cookies.get(SESSION_COOKIE))

    def render(
        self,
        request: Request,
        session: Session,
        template: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        language = self.language(request)
        base = request.scope.get("root_path", "")
        flashes = session.pending.pop("flash", [])
        html = (
            environment(language)
            .get_template(template)
            .render(
                base=base,
                lang=language,
                languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
                here=base + (request.url.path if request.method == "GET" else "/"),
                csrf=session.csrf,
                flashes=flashes,
                platform_url=self.settings.platform_url,
                keystore_dir=self.settings.shown_keystore_dir,
                step_labels=STEP_LABELS,
                reason_labels=REASON_LABELS,
                holder_kinds=HOLDER_KINDS,
                environments=ENVIRONMENTS,
                **context,
            )
        )
        response = HTMLResponse(html, status_code=status, headers=headers)
        if request.cookies.get(SESSION_COOKIE) != session.session_id:
            response.set_cookie(
                SESSION_COOKIE,
                session.session_id,
                httponly=True,
                samesite="strict",
                path=base + "/",
            )
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(
                LANGUAGE_COOKIE,
                language,
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="strict",
                path=base + "/",
            )
        return response

    def flash(self, session: Session, level: str, text: str) -> None:
        session.pending.setdefault("flash", []).append((level, text))

    def redirect(self, request: Request, path: str) -> RedirectResponse:
        return RedirectResponse(request.scope.get("root_path", "") + path, status_code=303)

    def refused(self, request: Request, session: Session | None, reason: str) -> HTMLResponse:
        """403 for a form that fails the CSRF or origin check, in the user's language."""
        _ = translator(self.language(request))
        session = session or self.sessions.create()
        return self.render(
            request,
            session,
            "message.html",
            status=403,
            title=_("Request refused"),
            text=reason,
        )

    async def form(self, request: Request) -> tuple[Session, dict[str, str]] | Response:
        """The POSTed form after the session, CSRF and origin checks (or the refusal)."""
        checked = await self.upload_form(request, files_allowed=False)
        if isinstance(checked, Response):
            return checked
        session, fields, _files = checked
        return session, fields

    async def upload_form(
        self, request: Request, *, files_allowed: bool = True
    ) -> tuple[Session, dict[str, str], dict[str, Upload]] | Response:
        """:meth:`form` for a form that may carry a file (``multipart/form-data``)."""
        checked = await self.files_form(request, files_allowed=files_allowed)
        if isinstance(checked, Response):
            return checked
        session, fields, files = checked
        return session, fields, {name: uploads[0] for name, uploads in files.items()}

    async def files_form(
        self,
        request: Request,
        *,
        files_allowed: bool = True,
        max_bytes: int = MAX_UPLOAD_BYTES,
    ) -> tuple[Session, dict[str, str], dict[str, list[Upload]]] | Response:
        """:meth:`form` for a form that may carry several files per field, up to
        ``max_bytes`` in all (the mailbox's annexes)."""
        _ = translator(self.language(request))
        session = self.session_of(request)
        if session is None:
            return self.refused(
                request,
                None,
                _("Your session has ended. Open the address the manager printed again."),
            )
        content_header = request.headers.get("content-type", "")
        content_type = content_header.split(";")[0].strip()
        body = await request.body()
        host = request.headers.get("host", "")
        multipart = files_allowed and content_type == "multipart/form-data"
        not_ours = self.refused(
            request, session, _("This form did not come from the Certificate Manager page.")
        )
        if (
            (content_type != "application/x-www-form-urlencoded" and not multipart)
            or len(body) > (max_bytes if multipart else MAX_FORM_BYTES)
            or not same_origin(request.headers.get("origin"), request.headers.get("referer"), host)
        ):
            return not_ours
        files: dict[str, list[Upload]] = {}
        if multipart:
            try:
                fields, files = parse_multipart_all(content_header, body, max_bytes=max_bytes)
            except UploadRefused:
                return not_ours
        else:
            fields = {
                name: values[0]
                for name, values in parse_qs(
                    body.decode("utf-8", "replace"), keep_blank_values=True
                ).items()
            }
        if not session.csrf_matches(fields.get("csrf")):
            return self.refused(
                request,
                session,
                _("This form has expired or did not come from this page; please fill it in again."),
            )
        return session, fields, files

    def session_for_page(self, request: Request) -> Session:
        return self.session_of(request) or self.sessions.create()

    def shown(self, request: Request, error: EhcertError) -> dict[str, str | None]:
        shown = shown_error(error, translator(self.language(request)))
        return {"text": shown.text, "original": shown.original}
