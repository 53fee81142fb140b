"""Reading fields of a signed payload; a missing, unknown or wrong field is a 400 naming it.

Everything here is strict on purpose: what a client did not mean to send is refused, not
guessed at. A payload names only the fields of its operation (:func:`only_fields`);
text must be encodable as UTF-8 (a lone surrogate such as ``\\ud800`` is valid JSON but
no text, RFC 8259 section 8.2); binary fields are base64url as RFC 4648 section 5 writes
it, with or without its padding but never with wrong padding, other characters or
non-canonical trailing bits; serials are hexadecimal numbers of at most 20 octets
(RFC 5280 section 4.1.2.2).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from ehcert.core.errors import EhcertError, ErrorKind

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
_HEX = re.compile(r"[0-9a-fA-F]{1,40}")
MAX_TEXT_LENGTH = 4096
"""Longest text field accepted: the longest real one (an institution id) is far shorter."""


def _malformed(name: str, detail: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, detail, field=name)


def only_fields(payload: Mapping[str, Any], *names: str) -> None:
    """Refuse a payload that holds a field its operation does not know, naming it."""
    unknown = sorted(str(name) for name in payload if name not in names)
    if unknown:
        known = ", ".join(names) if names else "no field"
        raise _malformed(
            unknown[0][:100],
            f"Field {unknown[0][:100]!r} is not part of this request; it takes {known}.",
        )


def check_text(value: str, name: str) -> str:
    """``value`` when it is text that can be stored and shown, else MALFORMED naming it."""
    if len(value) > MAX_TEXT_LENGTH:
        raise _malformed(name, f"Field {name} is longer than {MAX_TEXT_LENGTH} characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _malformed(
            name, f"Field {name} holds a lone surrogate; it must be Unicode text."
        ) from None
    return value


def text_field(payload: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise _malformed(name, f"Field {name} is required.")
        return None
    if not isinstance(value, str) or not value:
        raise _malformed(name, f"Field {name} must be a string.")
    return check_text(value, name)


def strict_b64url(text: str, name: str) -> bytes:
    """Decode base64url (RFC 4648 section 5) strictly; MALFORMED names ``name``."""
    unpadded = text.rstrip("=")
    padded = unpadded + "=" * (-len(unpadded) % 4)
    if not _BASE64URL.fullmatch(text) or len(unpadded) % 4 == 1 or text not in (unpadded, padded):
        raise _malformed(name, f"Field {name} must be base64url (RFC 4648 section 5).")
    try:
        decoded = base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        raise _malformed(name, f"Field {name} must be base64url (RFC 4648 section 5).") from None
    if b64url(decoded) != unpadded:
        raise _malformed(name, f"Field {name} is not canonical base64url.")
    return decoded


def b64url_field(payload: Mapping[str, Any], name: str) -> bytes:
    return strict_b64url(text_field(payload, name) or "", name)


def serial_hex(text: str, name: str = "serial") -> str:
    """A certificate serial as the ledger writes it: lower-case hex, no leading zeros."""
    if not _HEX.fullmatch(text) or int(text, 16) == 0:
        raise _malformed(
            name,
            f"Field {name} must be a positive hexadecimal serial number of at most 20 octets.",
        )
    return format(int(text, 16), "x")


def serial_field(payload: Mapping[str, Any], name: str = "serial") -> str:
    return serial_hex(text_field(payload, name) or "", name)


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 section 5), as every binary field here travels."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
