"""Forms that carry a file: ``multipart/form-data`` (RFC 7578) read with the standard library.

The eID step lets a person pick a PKCS#12 file with the browser's file chooser
(``<input type=file>``), so the file's bytes come to the local manager in the form
itself and nobody types a path. Starlette reads such forms only with the
``python-multipart`` package, which the client side does not install; a form of a few
fields and one small file is read here with :mod:`email.parser`, whose MIME parser is
the one RFC 7578 section 4 builds on (each part has a ``Content-Disposition:
form-data; name=...`` header and, for a file, a ``filename`` parameter).

The body is limited (:data:`MAX_UPLOAD_BYTES`) before it is parsed; a part without a
name, a nested multipart or a body that is not multipart at all is refused as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP

MAX_UPLOAD_BYTES = 256 * 1024
"""An eID PKCS#12 file is a few kilobytes; anything this large is not one."""


@dataclass(frozen=True)
class Upload:
    """A file sent with a form: the name the browser gave it and its bytes."""

    filename: str
    data: bytes


class UploadRefused(ValueError):
    """The body is not a well-formed ``multipart/form-data`` form."""


def parse_multipart_all(
    content_type: str, body: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES
) -> tuple[dict[str, str], dict[str, list[Upload]]]:
    """The text fields and every file of a ``multipart/form-data`` body, by field name.

    ``content_type`` is the request's whole ``Content-Type`` header (it names the
    boundary). Text fields are UTF-8 (RFC 7578 section 5.1); a field sent twice keeps
    its first value, as the urlencoded forms do. A file input may send several files
    (``<input type=file multiple>``, RFC 7578 section 4.3: one part each, same name),
    kept in order. A file input left empty arrives as a part with an empty filename and
    no bytes, and is left out.
    """
    if len(body) > max_bytes:
        raise UploadRefused("the form is too large")
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    if not isinstance(message, EmailMessage) or message.get_content_type() != (
        "multipart/form-data"
    ):
        raise UploadRefused("the form is not multipart/form-data")
    if message.defects:
        raise UploadRefused("the form is damaged")
    fields: dict[str, str] = {}
    files: dict[str, list[Upload]] = {}
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage) or part.is_multipart():
            raise UploadRefused("the form holds a nested part")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise UploadRefused("a part of the form has no name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            if filename and data:
                files.setdefault(name, []).append(Upload(filename, data))
            continue
        fields.setdefault(name, data.decode("utf-8", "replace"))
    return fields, files


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """:func:`parse_multipart_all` for a form of single files: the first of each name."""
    fields, files = parse_multipart_all(content_type, body)
    return fields, {name: uploads[0] for name, uploads in files.items()}
