"""Reading fields of a signed payload; a missing or wrong field is a 400 naming it."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ehcert.core.errors import EhcertError, ErrorKind


def text_field(payload: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise EhcertError(ErrorKind.MALFORMED, f"Field {name} is required.", field=name)
        return None
    if not isinstance(value, str) or not value:
        raise EhcertError(ErrorKind.MALFORMED, f"Field {name} must be a string.", field=name)
    return value


def b64url_field(payload: dict[str, Any], name: str) -> bytes:
    text = text_field(payload, name) or ""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise EhcertError(
            ErrorKind.MALFORMED, f"Field {name} must be base64url.", field=name
        ) from error


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 section 5), as every binary field here travels."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
