"""Who may drive the local UI: whoever holds the secret URL, from this browser, nobody else.

A local web server is reachable by every user of the machine and by every web page the
user's browser opens; each could try to drive it. The defences, in request order:

- **loopback only**: the server binds 127.0.0.1 (:mod:`ehcert.manager.web.server`);
- **Host check** against DNS rebinding: a page from ``evil.example`` re-pointed at
  127.0.0.1 still sends ``Host: evil.example`` (RFC 9110 section 7.2), refused;
- **secret path**: every URL starts with ``/s/<token>/``, 32 random bytes printed only
  on the starting user's terminal; anything else is a bare 404 that reveals nothing.
  Compared in constant time;
- **session cookie** (``HttpOnly``, ``SameSite=Strict``, scoped to the secret path):
  holds a random id; the server keeps the session (its CSRF token, unlocked keystore
  views, running jobs) in memory only;
- **CSRF** on every POST (OWASP CSRF Prevention Cheat Sheet: synchronizer token plus
  origin verification): the session's token must come back in the ``csrf`` form field,
  and ``Origin`` (or, when a browser omits it, ``Referer``) must be this server;
- headers: a strict ``Content-Security-Policy`` (no scripts at all, forms only to
  ourselves, no framing), ``Referrer-Policy: same-origin`` (the secret never leaves in a
  Referer, while same-origin POSTs keep a real ``Origin``), ``Cache-Control: no-store``.

Passwords are never kept: each form that needs one asks for it and the value lives
only for that request (or the job it starts). The one exception is the eID between the
two pages of a flow that starts with it (:mod:`ehcert.manager.web.eid_step`): the opened
credential, never the PIN text, stays in this process's memory for that session, for
ten minutes at most, and is dropped (the card logged out) when the flow ends. The
other is an open mailbox (:mod:`ehcert.manager.web.mailbox`): the opened keystore,
never the password text, stays for that session while it is used, and is dropped after
fifteen idle minutes or when the mailbox is closed.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "ehcert_manager_session"
LANGUAGE_COOKIE = "ehcert_manager_lang"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)


def new_secret() -> str:
    """The URL secret: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


@dataclass
class Session:
    """One browser's state: its CSRF token and what it unlocked (public data only)."""

    session_id: str
    csrf: str
    unlocked: dict[str, Any] = field(default_factory=dict)
    pending: dict[str, Any] = field(default_factory=dict)

    def csrf_matches(self, submitted: str | None) -> bool:
        return submitted is not None and secrets.compare_digest(
            submitted.encode("utf-8"), self.csrf.encode("utf-8")
        )


class Sessions:
    """The sessions of this server process (memory only: a restart forgets everything)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            return self._by_id.get(session_id)

    def create(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        with self._lock:
            self._by_id[session.session_id] = session
        return session


def host_is_loopback(host_header: str | None) -> bool:
    """Whether ``Host`` names this machine's loopback (any port): rebinding protection."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    name = host[: host.find("]") + 1] if host.startswith("[") else host.rsplit(":", 1)[0]
    return name in LOOPBACK_HOSTS


def same_origin(origin: str | None, referer: str | None, host_header: str) -> bool:
    """``Origin`` (else ``Referer``) must be ``http://<our Host>``; neither is a refusal."""
    expected = f"http://{host_header.strip().lower()}"
    if origin is not None:
        return origin.strip().lower() == expected
    if referer is not None:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() == expected
    return False


class SecretPathGate:
    """ASGI middleware: loopback Host, secret path prefix, security headers.

    A request for ``/s/<secret>/rest`` reaches the application as ``/rest`` with
    ``root_path`` ``/s/<secret>``; anything else gets a 404 with an empty body.
    """

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.prefix = f"/s/{secret}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        path: str = scope["path"]
        candidate = path[: len(self.prefix)]
        rest = path[len(self.prefix) :]
        allowed = (
            host_is_loopback(headers.get("host"))
            and secrets.compare_digest(candidate.encode("utf-8"), self.prefix.encode("utf-8"))
            and (rest == "" or rest.startswith("/"))
        )
        if not allowed:
            await _bare_404(send)
            return
        inner = dict(scope)
        inner["path"] = rest or "/"
        inner["root_path"] = scope.get("root_path", "") + self.prefix

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(inner, receive, send_with_headers)


async def _bare_404(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", b"0"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})
