"""The eHealthBox's framing of sealed parts around a JSON document, both ways.

``application/vnd.ehcert.ehbox-parts``: the JSON document's length in ASCII digits and a
line feed, the document, then each sealed part's bytes in the order and at the sizes the
document lists. A send's document is the JWS; it is bounded by the JWS limit
(``pki.jws.MAX_DOCUMENT_SIZE``), and the parts are read as they arrive, never whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.ehbox.model import malformed
from ehcert.ehbox.records import PartView
from ehcert.pki.jws import MAX_DOCUMENT_SIZE

PARTS_MEDIA_TYPE = "application/vnd.ehcert.ehbox-parts"
_MAX_HEAD_DIGITS = 8


class StreamedBody:
    """The request body, read from the worker thread in pieces as the route needs them."""

    def __init__(self, pull: Callable[[], bytes]) -> None:
        self._pull = pull
        self._buffer = bytearray()
        self._ended = False

    def _fill(self) -> bool:
        if self._ended:
            return False
        data = self._pull()
        if not data:
            self._ended = True
            return False
        self._buffer += data
        return True

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size and self._fill():
            pass
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    def read_head(self) -> bytes:
        """The JSON before the parts: its length in digits, a line feed, then the JSON."""
        digits = bytearray()
        while True:
            byte = self.read(1)
            if byte == b"\n":
                break
            if not byte.isdigit() or len(digits) >= _MAX_HEAD_DIGITS:
                raise malformed(
                    "body",
                    f"A {PARTS_MEDIA_TYPE} body starts with the JSON's length in digits and a "
                    "line feed.",
                )
            digits += byte
        length = int(digits or b"0")
        if not 0 < length <= MAX_DOCUMENT_SIZE:
            raise EhcertError(
                ErrorKind.PAYLOAD_TOO_LARGE,
                f"The signed request before the parts must be 1 to {MAX_DOCUMENT_SIZE} bytes.",
                field="body",
            )
        head = self.read(length)
        if len(head) != length:
            raise malformed("body", "The body ends inside its signed request.")
        return head

    def drain(self, limit: int) -> None:
        """Read what the client still sends (up to ``limit``), so it gets the answer."""
        received = 0
        self._buffer.clear()
        while received <= limit and self._fill():
            received += len(self._buffer)
            self._buffer.clear()


def framed(
    head: dict[str, Any], parts: Sequence[PartView], chunks: Callable[[PartView], Iterator[bytes]]
) -> Iterator[bytes]:
    document = json.dumps(head, separators=(",", ":")).encode("utf-8")
    yield str(len(document)).encode("ascii") + b"\n" + document
    for part in parts:
        yield from chunks(part)
