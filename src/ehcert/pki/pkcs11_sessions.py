"""The process's shared, logged-in PKCS#11 sessions (see :mod:`ehcert.pki.pkcs11`).

Login is per application and token (PKCS#11 section 5.6), so the process keeps exactly
one logged-in read/write session per (module, token) and every caller shares it; a
caller presenting a different PIN than the one that opened it is refused. Calls into a
module are serialised by one lock per module path (the library was initialised with
C_Initialize(NULL)); a token missing from the slot list makes the module rescan once,
and a forked child drops the parent's sessions and re-initialises (section 6.7.1).
Every library exception leaves here as an :class:`EhcertError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from pkcs11 import exceptions as p11_errors

from ehcert.core.errors import EhcertError, ErrorKind

_T = TypeVar("_T")

_PIN_ERRORS = (
    p11_errors.PinIncorrect,
    p11_errors.PinInvalid,
    p11_errors.PinLenRange,
    p11_errors.PinExpired,
)
_STALE_SESSION_ERRORS = (
    p11_errors.SessionHandleInvalid,
    p11_errors.SessionClosed,
    p11_errors.UserNotLoggedIn,
)
_GONE_ERRORS = (p11_errors.TokenNotPresent, p11_errors.DeviceRemoved, p11_errors.DeviceError)


@dataclass
class _SharedSession:
    session: pkcs11.Session
    pin_digest: bytes


_registry_lock = threading.Lock()
_module_locks: dict[str, threading.RLock] = {}
_sessions: dict[tuple[str, str], _SharedSession] = {}
_loaded_modules: set[str] = set()
_owner_pid = os.getpid()


def _digest(pin: str) -> bytes:
    return hashlib.sha256(pin.encode("utf-8")).digest()


def _module_lock(module_path: str) -> threading.RLock:
    global _owner_pid  # noqa: PLW0603 -- fork detection is process-wide state
    with _registry_lock:
        if os.getpid() != _owner_pid:
            # After fork the parent's sessions are not ours (PKCS#11 section 6.7.1).
            _sessions.clear()
            _module_locks.clear()
            _owner_pid = os.getpid()
            for loaded in _loaded_modules:
                pkcs11.lib(loaded).reinitialize()
        return _module_locks.setdefault(module_path, threading.RLock())


def _library(module_path: str) -> Any:
    if not Path(module_path).is_file():
        raise EhcertError(
            ErrorKind.UNAVAILABLE, f"PKCS#11 module {module_path} does not exist.", field="module"
        )
    try:
        library = pkcs11.lib(module_path)  # python-pkcs11 caches one object per path
    except p11_errors.PKCS11Error as exc:
        raise EhcertError(
            ErrorKind.UNAVAILABLE,
            f"PKCS#11 module {module_path} cannot be loaded or initialised ({exc!r}).",
            field="module",
        ) from exc
    _loaded_modules.add(module_path)
    return library


def _find_token(module_path: str, token_label: str) -> Any:
    """The token labelled ``token_label``, rescanning the slots once if it is missing."""
    library = _library(module_path)
    for attempt in range(2):
        try:
            return library.get_token(token_label=token_label)
        except p11_errors.NoSuchToken:
            if attempt == 0:
                for key in [k for k in _sessions if k[0] == module_path]:
                    del _sessions[key]  # C_Finalize invalidates every session handle
                library.reinitialize()
        except p11_errors.MultipleTokensReturned as exc:
            raise EhcertError(
                ErrorKind.CONFLICT,
                f"More than one PKCS#11 token is labelled '{token_label}'.",
                field="token_label",
            ) from exc
    raise EhcertError(
        ErrorKind.NOT_FOUND,
        f"No PKCS#11 token labelled '{token_label}' in module {module_path}.",
        field="token_label",
    )


def _open_shared(module_path: str, token_label: str, pin: str) -> pkcs11.Session:
    key = (module_path, token_label)
    shared = _sessions.get(key)
    if shared is not None:
        if not hmac.compare_digest(shared.pin_digest, _digest(pin)):
            raise EhcertError(
                ErrorKind.UNAUTHORIZED,
                f"The PIN for token '{token_label}' is wrong.",
                field="pin",
            )
        session: pkcs11.Session = shared.session
        return session
    token = _find_token(module_path, token_label)
    try:
        session = token.open(rw=True, user_pin=pin)
    except _PIN_ERRORS as exc:
        raise EhcertError(
            ErrorKind.UNAUTHORIZED, f"The PIN for token '{token_label}' is wrong.", field="pin"
        ) from exc
    except p11_errors.PinLocked as exc:
        raise EhcertError(
            ErrorKind.UNAUTHORIZED, f"The PIN of token '{token_label}' is locked.", field="pin"
        ) from exc
    except p11_errors.UserAlreadyLoggedIn as exc:
        raise EhcertError(
            ErrorKind.UNAVAILABLE,
            f"Token '{token_label}' was logged in by other code in this process.",
            field="token_label",
        ) from exc
    _sessions[key] = _SharedSession(session, _digest(pin))
    return session


def run_on_token(
    module_path: str, token_label: str, pin: str, operation: Callable[[Any], _T]
) -> _T:
    """Run ``operation`` on the shared session, re-opening it once if it went stale."""
    with _module_lock(module_path):
        for attempt in range(2):
            try:
                return operation(_open_shared(module_path, token_label, pin))
            except _STALE_SESSION_ERRORS as exc:
                _sessions.pop((module_path, token_label), None)
                if attempt == 1:
                    raise _unavailable(token_label, exc) from exc
            except _GONE_ERRORS as exc:
                _sessions.pop((module_path, token_label), None)
                raise _unavailable(token_label, exc) from exc
            except p11_errors.PKCS11Error as exc:
                raise _unavailable(token_label, exc) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def run_on_module(module_path: str, operation: Callable[[Any], _T]) -> _T:
    """Run ``operation`` on the loaded module itself (slot listing, public sessions).

    Card readers and cards come and go while the process runs, and many modules only
    enumerate slots at C_Initialize (PKCS#11 section 5.5, C_GetSlotList), so the module
    is initialised afresh first, unless a logged-in session of this process is open on
    it: C_Finalize would drop that login.
    """
    with _module_lock(module_path):
        library = _library(module_path)
        if not any(key[0] == module_path for key in _sessions):
            try:
                library.reinitialize()
            except p11_errors.PKCS11Error as exc:
                raise EhcertError(
                    ErrorKind.UNAVAILABLE,
                    f"PKCS#11 module {module_path} cannot be initialised ({exc!r}).",
                    field="module",
                ) from exc
        try:
            return operation(library)
        except p11_errors.PKCS11Error as exc:
            raise EhcertError(
                ErrorKind.UNAVAILABLE,
                f"PKCS#11 module {module_path} failed to list its readers ({type(exc).__name__}).",
                field="module",
            ) from exc


def _unavailable(token_label: str, exc: Exception) -> EhcertError:
    return EhcertError(
        ErrorKind.UNAVAILABLE,
        f"PKCS#11 token '{token_label}' failed the operation ({type(exc).__name__}).",
        field="token_label",
    )


def close_session(module_path: str, token_label: str) -> None:
    """Log out of one token and close its shared session, if one is open.

    The Certificate Manager calls this when a flow that used an eID card ends, so the
    card does not stay logged in for the rest of the process.
    """
    path = str(Path(module_path))
    with _module_lock(path):
        shared = _sessions.pop((path, token_label), None)
        if shared is not None:
            with contextlib.suppress(p11_errors.PKCS11Error):  # card already removed
                shared.session.close()


def close_sessions() -> None:
    """Log out and close every shared session (process shutdown, test teardown)."""
    with _registry_lock:
        for (module_path, _), shared in list(_sessions.items()):
            lock = _module_locks.setdefault(module_path, threading.RLock())
            with lock, contextlib.suppress(p11_errors.PKCS11Error):  # already gone
                shared.session.close()
        _sessions.clear()
