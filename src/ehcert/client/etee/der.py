"""A small zero-copy BER reader and a DER writer that assembles output from parts.

Why not asn1crypto for everything: asn1crypto keeps a ``bytes`` copy of the contents of
every element it parses (a slice of ``bytes`` is a copy), so walking a triple-wrapped
message whose payload sits three levels deep costs several copies of the payload. Here
the big structures (ContentInfo, SignedData, EnvelopedData and their content octets)
are walked with ``memoryview`` offsets, and asn1crypto only ever sees the small parts
(certificates, SignerInfos, RecipientInfos).

Reading accepts BER (X.690 section 8): messages in the field use indefinite lengths and
constructed OCTET STRINGs. Writing produces DER (X.690 section 10) as a list of parts
(``bytes`` or ``memoryview``) whose total length is known, so a large payload is never
copied until the single final ``b"".join``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ehcert.core.errors import EhcertError, ErrorKind

UNIVERSAL, APPLICATION, CONTEXT, PRIVATE = 0, 1, 2, 3

TAG_INTEGER = 2
TAG_OCTET_STRING = 4
TAG_OID = 6
TAG_SEQUENCE = 16
TAG_SET = 17

_MAX_DEPTH = 48
_MAX_LENGTH_OCTETS = 8

Buffer = bytes | bytearray | memoryview
Parts = list[Buffer]


class BerError(ValueError):
    """The bytes are not well-formed BER; the message says where and why."""


def malformed(what: str, reason: str) -> EhcertError:
    """The one error a reader raises: MALFORMED, naming the part and the reason."""
    return EhcertError(ErrorKind.MALFORMED, f"The {what} cannot be read: {reason}.", field="data")


@dataclass(frozen=True, slots=True)
class Tlv:
    """One BER element inside a buffer, by offsets (nothing is copied).

    ``content_end`` excludes the end-of-contents octets of an indefinite length;
    ``end`` is the offset just after the whole element.
    """

    tag_class: int
    constructed: bool
    number: int
    start: int
    content_start: int
    content_end: int
    end: int

    def is_(self, tag_class: int, number: int) -> bool:
        return self.tag_class == tag_class and self.number == number


def read_tlv(buf: memoryview, offset: int, limit: int, depth: int = 0) -> Tlv:
    """Read the element starting at ``offset``; it must end at or before ``limit``."""
    if depth > _MAX_DEPTH:
        raise BerError("elements are nested too deeply")
    if offset >= limit:
        raise BerError(f"an element was expected at offset {offset} but the data ends")
    first = buf[offset]
    tag_class, constructed, number = first >> 6, bool(first & 0x20), first & 0x1F
    position = offset + 1
    if number == 0x1F:  # high tag number form, X.690 8.1.2.4
        number = 0
        while True:
            if position >= limit:
                raise BerError("a tag number runs past the end of the data")
            octet = buf[position]
            position += 1
            number = (number << 7) | (octet & 0x7F)
            if number > 0xFFFFFF:
                raise BerError("a tag number is absurdly large")
            if not octet & 0x80:
                break
    if position >= limit:
        raise BerError("a length is missing at the end of the data")
    length_octet = buf[position]
    position += 1
    if length_octet == 0x80:  # indefinite form, X.690 8.1.3.6
        if not constructed:
            raise BerError("a primitive element uses the indefinite length form")
        cursor = position
        while True:
            if cursor + 2 <= limit and buf[cursor] == 0 and buf[cursor + 1] == 0:
                return Tlv(tag_class, constructed, number, offset, position, cursor, cursor + 2)
            cursor = read_tlv(buf, cursor, limit, depth + 1).end
    if length_octet & 0x80:
        count = length_octet & 0x7F
        if count == 0x7F or count > _MAX_LENGTH_OCTETS:
            raise BerError("a length is encoded on too many octets")
        if position + count > limit:
            raise BerError("a length runs past the end of the data")
        length = int.from_bytes(buf[position : position + count], "big")
        position += count
    else:
        length = length_octet
    end = position + length
    if end > limit:
        raise BerError(
            f"an element at offset {offset} claims {length} bytes but only "
            f"{limit - position} remain"
        )
    return Tlv(tag_class, constructed, number, offset, position, end, end)


def read_header(buf: memoryview, offset: int, limit: int) -> Tlv:
    """The element starting at ``offset`` from its identifier and length octets alone:
    ``buf`` may end before its content does (a first decrypted chunk). Definite lengths
    and low tag numbers only; the element must end at or before ``limit``."""
    if offset + 2 > len(buf):
        raise BerError("a header runs past the end of the data")
    first, length_octet = buf[offset], buf[offset + 1]
    if first & 0x1F == 0x1F or length_octet == 0x80:
        raise BerError("a high tag number or an indefinite length")
    position = offset + 2
    length = length_octet
    if length_octet & 0x80:
        count = length_octet & 0x7F
        if count > _MAX_LENGTH_OCTETS or position + count > len(buf):
            raise BerError("a length runs past the end of the data")
        length = int.from_bytes(buf[position : position + count], "big")
        position += count
    end = position + length
    if end > limit:
        raise BerError(f"an element at offset {offset} runs past the end of the data")
    return Tlv(first >> 6, bool(first & 0x20), first & 0x1F, offset, position, end, end)


def read_top(buf: memoryview) -> Tlv:
    """The single element that must fill ``buf`` exactly."""
    top = read_tlv(buf, 0, len(buf))
    if top.end != len(buf):
        raise BerError(f"{len(buf) - top.end} unexpected bytes follow the structure")
    return top


def children(buf: memoryview, parent: Tlv) -> list[Tlv]:
    """The elements inside a constructed element, in order."""
    if not parent.constructed:
        raise BerError("a constructed element was expected, a primitive one was found")
    found: list[Tlv] = []
    cursor = parent.content_start
    while cursor < parent.content_end:
        element = read_tlv(buf, cursor, parent.content_end)
        found.append(element)
        cursor = element.end
    return found


def expect(tlv: Tlv, tag_class: int, number: int, what: str) -> Tlv:
    if not tlv.is_(tag_class, number):
        raise BerError(f"{what} has an unexpected tag")
    return tlv


def octet_string(buf: memoryview, tlv: Tlv, what: str) -> Buffer:
    """An OCTET STRING's value: a view when primitive, one joined copy when constructed."""
    if not tlv.constructed:
        return buf[tlv.content_start : tlv.content_end]
    chunks: list[Buffer] = []
    for chunk in children(buf, tlv):
        expect(chunk, UNIVERSAL, TAG_OCTET_STRING, f"a segment of {what}")
        chunks.append(octet_string(buf, chunk, what))
    return b"".join(chunks)


def oid_value(buf: memoryview, tlv: Tlv, what: str) -> str:
    """An OBJECT IDENTIFIER in dotted form (X.690 section 8.19)."""
    expect(tlv, UNIVERSAL, TAG_OID, what)
    raw = bytes(buf[tlv.content_start : tlv.content_end])
    if not raw or raw[-1] & 0x80:
        raise BerError(f"{what} is not a valid object identifier")
    arcs: list[int] = []
    value = 0
    for octet in raw:
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def element_bytes(buf: memoryview, tlv: Tlv) -> bytes:
    """A copy of the whole element (for handing a small part to asn1crypto)."""
    return bytes(buf[tlv.start : tlv.end])


# ---------------------------------------------------------------------------- writing


def encode_length(length: int) -> bytes:
    """DER definite length (X.690 section 10.1: the shortest form)."""
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def header(identifier: int, length: int) -> bytes:
    """The identifier and DER length octets of an element (tag < 31) of ``length``."""
    return bytes([identifier]) + encode_length(length)


def parts_length(parts: Sequence[Buffer]) -> int:
    return sum(len(p) for p in parts)


def wrap(identifier: int, parts: Parts) -> Parts:
    """``parts`` inside an element with the given identifier octet (tag < 31)."""
    return [header(identifier, parts_length(parts)), *parts]


def sequence(*items: Parts) -> Parts:
    return wrap(0x30, [p for item in items for p in item])


def set_of(items: list[bytes]) -> Parts:
    """A DER SET OF: elements sorted by their encodings (X.690 section 11.6)."""
    return wrap(0x31, list(sorted(items)))


def octets(value: Buffer) -> Parts:
    return wrap(0x04, [value])


def explicit(number: int, parts: Parts) -> Parts:
    return wrap(0xA0 | number, parts)


def raw(der: bytes) -> Parts:
    return [der]
