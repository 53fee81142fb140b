"""EnvelopedData (RFC 5652 section 6): encrypt for several recipients, decrypt with any key.

RSA recipients get a KeyTransRecipientInfo: RSAES-PKCS1-v1_5 (RFC 3370 section 4.2.1),
named by issuerAndSerialNumber; that is what the eHealth ETEE libraries write, and
RSAES-OAEP (RFC 3560) is accepted when reading. EC recipients (P-256, P-384) get a
KeyAgreeRecipientInfo: ephemeral-static ECDH, X9.63 KDF and AES key wrap (RFC 5753,
:mod:`ehcert.client.etee.key_agreement`). Both kinds mix in one message; the version is
0 with key transport only and 2 as soon as there is a key agreement (RFC 5652 6.1). The
content is encrypted with AES-CBC (RFC 3565) under a fresh random key and IV.

Decrypting tries the keys whose certificate the recipient info names first; only when no
key is named does it try every key on every recipient info (older files in the field name
a certificate the keystore holds under different bytes). A wrong key is noticed by the
unwrapped key length or by the CBC padding; RSA unwrap failures are not told apart from
padding failures, so no padding oracle is exposed. A key agreement that names one of our
keys but cannot be used (scheme, wrap, a point off the curve) is reported in one
sentence when nothing else opens the message.
"""

from __future__ import annotations

import functools
import io
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms as asn1_cms
from asn1crypto import core
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from ehcert.client.etee import der
from ehcert.client.etee.cms import (
    OID_ENVELOPED_DATA,
    CertificatePair,
    issuer_and_serial,
    read_content_info,
    signed_data_layout,
)
from ehcert.client.etee.der import CONTEXT, UNIVERSAL, BerError, Buffer, Parts
from ehcert.client.etee.key_agreement import (
    KeyAgreement,
    KeyAgreementRefused,
    build_key_agreement,
    matches_recipient,
)
from ehcert.client.etee.report import Issue
from ehcert.pki.cms_signature import OID_DATA, plain_tlv
from ehcert.pki.keystore_entries import KeyEntry, Keystore
from ehcert.pki.revocation import describe_subject

CIPHERS = {"aes128": ("aes128_cbc", 16), "aes256": ("aes256_cbc", 32)}
"""The ciphers :func:`build_enveloped_data` writes: name -> (asn1crypto name, key size)."""

ALLOWED_CONTENT_CIPHERS = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}
_BLOCK = 16


_KEY_TRANSPORT_PKCS1 = bytes(
    asn1_cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"}).dump()
)
_ENVELOPED_DATA_OID = bytes(core.ObjectIdentifier(OID_ENVELOPED_DATA).dump())
_DATA_OID = bytes(core.ObjectIdentifier(OID_DATA).dump())


def padded_length(plaintext_length: int) -> int:
    """The AES-CBC ciphertext length of ``plaintext_length`` bytes with the padding of
    RFC 5652 6.3 (1 to 16 bytes, always present)."""
    return plaintext_length + _BLOCK - plaintext_length % _BLOCK


@dataclass(frozen=True)
class EnvelopeFrame:
    """Everything of an EnvelopedData but its ciphertext: ``prefix`` is the DER of
    ContentInfo(EnvelopedData) up to and including the header of the encrypted content
    ([0] IMPLICIT OCTET STRING, primitive, the last element: RFC 5652 6.1), so
    ``prefix + ciphertext`` is the whole structure; ``key`` and ``iv`` encrypt it."""

    prefix: bytes
    key: bytes
    iv: bytes

    def encryptor(self) -> CipherContext:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).encryptor()


def envelope_frame(
    recipients: Sequence[CertificatePair], cipher: str, ciphertext_length: int
) -> EnvelopeFrame:
    """A fresh content key for ``recipients`` and the DER around ``ciphertext_length``
    bytes of ciphertext (RFC 5652 6.1-6.2): nothing in it depends on the content but its
    length, so the content can be encrypted and written in chunks after it."""
    algorithm_name, key_size = CIPHERS[cipher]
    key, iv = os.urandom(key_size), os.urandom(_BLOCK)
    recipient_infos: list[bytes] = []
    agreements = 0
    for recipient in recipients:
        public_key = recipient.certificate.public_key()
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            recipient_infos.append(build_key_agreement(recipient, key))
            agreements += 1
            continue
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("every recipient certificate must hold an RSA or EC key")
        recipient_infos.append(
            b"".join(
                der.sequence(
                    der.raw(b"\x02\x01\x00"),  # version 0
                    der.raw(issuer_and_serial(recipient)),
                    der.raw(_KEY_TRANSPORT_PKCS1),
                    der.octets(public_key.encrypt(key, padding.PKCS1v15())),
                )
            )
        )
    algorithm = asn1_cms.EncryptionAlgorithm({"algorithm": algorithm_name, "parameters": iv})
    content_header = der.header(0x80, ciphertext_length)  # [0] IMPLICIT OCTET STRING
    encrypted_info_head = _DATA_OID + bytes(algorithm.dump()) + content_header
    encrypted_info_header = der.header(0x30, len(encrypted_info_head) + ciphertext_length)
    version = 2 if agreements else 0  # RFC 5652 6.1: kari is a version 3 RecipientInfo
    body_head = (
        bytes([2, 1, version])
        + b"".join(der.set_of(recipient_infos))
        + encrypted_info_header
        + encrypted_info_head
    )
    body_header = der.header(0x30, len(body_head) + ciphertext_length)
    explicit_header = der.header(0xA0, len(body_header) + len(body_head) + ciphertext_length)
    info_length = (
        len(_ENVELOPED_DATA_OID)
        + len(explicit_header)
        + len(body_header)
        + len(body_head)
        + ciphertext_length
    )
    prefix = (
        der.header(0x30, info_length)
        + _ENVELOPED_DATA_OID
        + explicit_header
        + body_header
        + body_head
    )
    return EnvelopeFrame(prefix, key, iv)


def padding_block(plaintext_length: int) -> bytes:
    """The CBC padding of RFC 5652 6.3 for ``plaintext_length`` bytes."""
    pad = _BLOCK - plaintext_length % _BLOCK
    return bytes([pad]) * pad


def build_enveloped_data(
    content: Parts, recipients: Sequence[CertificatePair], cipher: str
) -> Parts:
    """ContentInfo(EnvelopedData) of id-data ``content``, as parts (one ciphertext copy)."""
    length = der.parts_length(content)
    frame = envelope_frame(recipients, cipher, padded_length(length))
    encryptor = frame.encryptor()
    ciphertext: Parts = [encryptor.update(part) for part in content]
    ciphertext.append(encryptor.update(padding_block(length)) + encryptor.finalize())
    return [frame.prefix, *ciphertext]


@dataclass(frozen=True, slots=True)
class KeyTransport:
    """A KeyTransRecipientInfo (RFC 5652 6.2.1): whom it names, how the content key is
    encrypted, and the encrypted key."""

    rid: asn1_cms.RecipientIdentifier
    algorithm: asn1_cms.KeyEncryptionAlgorithm
    """Read-only: the same object serves every message with the same encoding."""
    encrypted_key: bytes

    @property
    def algorithm_name(self) -> str:
        """asn1crypto's name of the key encryption algorithm (``rsaes_pkcs1v15``)."""
        return str(self.algorithm["algorithm"].native)


@functools.lru_cache(maxsize=256)
def _recipient_identifier(rid_der: bytes) -> asn1_cms.RecipientIdentifier:
    """The rid of ``rid_der``, read (and its damage surfaced) once: the same recipient
    certificate is named in every message sent to it."""
    rid = asn1_cms.RecipientIdentifier.load(rid_der)
    _ = rid.native
    return rid


@functools.lru_cache(maxsize=64)
def _key_encryption_algorithm(identifier_der: bytes) -> asn1_cms.KeyEncryptionAlgorithm:
    algorithm = asn1_cms.KeyEncryptionAlgorithm.load(identifier_der)
    _ = algorithm.native
    return algorithm


_KTRI_VERSIONS = (b"\x02\x01\x00", b"\x02\x01\x02")


def read_plain_key_transport(data: bytes) -> KeyTransport | None:
    """``data``, a DER RecipientInfo holding a KeyTransRecipientInfo (RFC 5652 6.2.1:
    version 0 or 2, rid, keyEncryptionAlgorithm, encryptedKey), read without asn1crypto
    parsing it whole; None for anything else or anything unusual (an indefinite length,
    a constructed OCTET STRING, another version, damage), which the caller reads with
    asn1crypto as before.

    Converting the whole RecipientInfo with asn1crypto (the rid's issuer name above all)
    was a twentieth of a 1 KB seal+unseal; the rid and the algorithm repeat from message
    to message and are still read by asn1crypto, once per encoding.
    """
    top = plain_tlv(data, 0, len(data))
    if top is None or top[0] != 0x30 or top[2] != len(data):
        return None
    fields: list[tuple[int, int, int, int]] = []
    position = top[1]
    while position < top[2] and len(fields) < 5:
        element = plain_tlv(data, position, top[2])
        if element is None:
            return None
        fields.append((position, *element))
        position = element[2]
    if len(fields) != 4 or position != top[2]:
        return None
    (version, *_), (rid, rid_tag, *_), (algorithm, algorithm_tag, *_) = fields[:3]
    key_start, key_tag, key_content, key_end = fields[3]
    if (
        data[version : fields[1][0]] not in _KTRI_VERSIONS
        or rid_tag not in (0x30, 0x80)
        or algorithm_tag != 0x30
        or key_tag != 0x04
    ):
        return None
    try:
        rid_value = _recipient_identifier(data[rid : fields[2][0]])
        algorithm_value = _key_encryption_algorithm(data[algorithm:key_start])
    except Exception:  # asn1crypto also raises AttributeError on some damage
        return None  # read again by asn1crypto, which raises what it raises there
    return KeyTransport(rid_value, algorithm_value, data[key_content:key_end])


def _asn1_key_transport(info: asn1_cms.KeyTransRecipientInfo) -> KeyTransport:
    return KeyTransport(info["rid"], info["key_encryption_algorithm"], info["encrypted_key"].native)


@dataclass(frozen=True)
class EnvelopedView:
    recipient_infos: tuple[KeyTransport, ...]
    key_agreements: tuple[KeyAgreement, ...]
    other_recipient_kinds: tuple[str, ...]
    content_type: str
    algorithm: str
    iv: bytes | None
    ciphertext: Buffer


def read_enveloped_data(buf: memoryview, what: str) -> EnvelopedView:
    """Parse ContentInfo(EnvelopedData); the ciphertext stays a view when primitive."""
    buf, body = read_content_info(buf, OID_ENVELOPED_DATA, what)
    try:
        fields = der.children(buf, der.expect(body, UNIVERSAL, der.TAG_SEQUENCE, "EnvelopedData"))
        index = 1
        if len(fields) > index and fields[index].is_(CONTEXT, 0):
            index += 1  # originatorInfo: certificates for key agreement, not used here
        if len(fields) < index + 2:
            raise BerError("EnvelopedData has too few fields")
        recipient_set = der.expect(fields[index], UNIVERSAL, der.TAG_SET, "recipientInfos")
        transports: list[KeyTransport] = []
        agreements: list[KeyAgreement] = []
        others: list[str] = []
        for item in der.children(buf, recipient_set):
            if item.is_(CONTEXT, 1):  # kari, read with any key agreement scheme
                agreements.append(KeyAgreement.load(der.element_bytes(buf, item)))
                continue
            encoded = der.element_bytes(buf, item)
            plain = read_plain_key_transport(encoded)
            if plain is not None:
                transports.append(plain)
                continue
            choice = asn1_cms.RecipientInfo.load(encoded)
            _ = choice.native  # asn1crypto parses lazily: surface damage here
            if choice.name == "ktri":
                transports.append(_asn1_key_transport(choice.chosen))
            else:
                others.append(choice.name)
        info = der.children(
            buf, der.expect(fields[index + 1], UNIVERSAL, der.TAG_SEQUENCE, "EncryptedContentInfo")
        )
        if len(info) != 3:
            raise BerError("the encrypted content is missing or detached")
        content_type = der.oid_value(buf, info[0], "the encrypted content type")
        algorithm = asn1_cms.EncryptionAlgorithm.load(der.element_bytes(buf, info[1]))
        name = algorithm["algorithm"].native
        iv = algorithm["parameters"].native if name in ALLOWED_CONTENT_CIPHERS else None
        if iv is not None and (not isinstance(iv, bytes) or len(iv) != _BLOCK):
            raise BerError("the AES-CBC initialisation vector is not 16 bytes")
        if not info[2].is_(CONTEXT, 0):
            raise BerError("the encrypted content has an unexpected tag")
        ciphertext = der.octet_string(buf, info[2], "the encrypted content")
    # asn1crypto raises AttributeError too on some damaged values (an ObjectDescriptor
    # where a value was due): damage all the same.
    except (BerError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise der.malformed(what, str(error).split("\n")[0]) from None
    return EnvelopedView(
        tuple(transports), tuple(agreements), tuple(others), content_type, name, iv, ciphertext
    )


def _unwrap(recipient_info: KeyTransport, key: rsa.RSAPrivateKey, size: int) -> bytes | None:
    algorithm = recipient_info.algorithm_name
    encrypted_key = recipient_info.encrypted_key
    try:
        if algorithm == "rsaes_pkcs1v15":
            unwrapped = key.decrypt(encrypted_key, padding.PKCS1v15())
        elif algorithm == "rsaes_oaep":
            params = recipient_info.algorithm["parameters"]
            hash_name = params["hash_algorithm"]["algorithm"].native
            hash_type = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}.get(hash_name)
            if hash_type is None:
                return None
            oaep = padding.OAEP(mgf=padding.MGF1(hash_type()), algorithm=hash_type(), label=None)
            unwrapped = key.decrypt(encrypted_key, oaep)
        else:
            return None
    except ValueError:
        return None
    return unwrapped if len(unwrapped) == size else None


@dataclass(frozen=True)
class SplitPlaintext:
    """A decrypted inner ContentInfo(SignedData) in three pieces: the bytes before its
    content, the content (its own ``bytes``, the one handed to the caller) and the bytes
    after it, padding removed (see :func:`_decrypt_content`)."""

    head: bytes
    content: bytes
    tail: bytes


Plaintext = memoryview | SplitPlaintext

_HEAD = 4096
"""The first ciphertext bytes decrypted on their own, to find the inner content."""
CHUNK = 1 << 20
"""Ciphertext bytes decrypted per step after them."""


def _decrypt_content(view: EnvelopedView, key: bytes) -> Plaintext | None:
    """AES-CBC (RFC 3565) with the padding of RFC 5652 6.3; None when the padding shows
    the key was wrong.

    The plaintext of an eHealth message is a ContentInfo(SignedData) whose headers give
    the content's place and length (:func:`signed_data_layout`), so the first chunk is
    decrypted alone and the content is then decrypted in chunks straight into the
    ``bytes`` object handed to the caller: no payload-sized buffer besides it. When the
    first chunk does not show that layout (another writer's BER, or a wrong key's
    garbage), the whole ciphertext is decrypted into one buffer as before, and the
    padding and the reader decide.
    """
    assert view.iv is not None
    size = len(view.ciphertext)
    if size == 0 or size % _BLOCK:
        return None
    ciphertext = memoryview(view.ciphertext)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(view.iv)).decryptor()
    first = decryptor.update(ciphertext[:_HEAD])
    layout = signed_data_layout(memoryview(first), size - 1)
    if layout is None or layout.total < size - _BLOCK:
        return _decrypt_whole(decryptor, first, ciphertext[_HEAD:])
    start, end = layout.content_start, layout.content_start + layout.content_length
    content, tail = _exact_buffer(layout.content_length), bytearray()
    position = 0
    rest = (decryptor.update(ciphertext[o : o + CHUNK]) for o in range(_HEAD, size, CHUNK))
    for raw in itertools.chain([first], rest):
        block = memoryview(raw)
        content.write(block[max(start - position, 0) : max(end - position, 0)])
        tail += block[max(end - position, 0) :]
        position += len(block)
    if decryptor.finalize():  # CBC without padding: whole blocks, nothing held back
        return None
    pad = tail[-1]  # the padding is after the content: end <= total < size
    if not 1 <= pad <= _BLOCK or tail[-pad:] != bytes([pad]) * pad:
        return None
    if size - pad != layout.total:  # a readable key but a damaged structure: let the
        whole = b"".join((first[:start], content.getvalue(), tail))  # reader say why
        return memoryview(whole)[: size - pad]
    return SplitPlaintext(first[:start], content.getvalue(), bytes(tail[:-pad]))


def _exact_buffer(size: int) -> io.BytesIO:
    """An empty BytesIO whose buffer is already ``size`` bytes: one allocation, written in
    place, and handed out by ``getvalue()`` without a copy once exactly full (CPython
    returns a BytesIO's own ``bytes`` when nothing else holds it). Growing it write by
    write instead goes through realloc, which the allocator may serve by copying."""
    buffer = io.BytesIO()
    if size:
        buffer.seek(size - 1)
        buffer.write(b"\0")
        buffer.seek(0)
    return buffer


def _decrypt_whole(decryptor: CipherContext, first: bytes, rest: memoryview) -> memoryview | None:
    """The rest of the ciphertext into one buffer after ``first``; None on bad padding."""
    output = bytearray(len(first) + len(rest) + _BLOCK)
    output[: len(first)] = first
    written = len(first) + decryptor.update_into(rest, memoryview(output)[len(first) :])
    if decryptor.finalize():
        return None
    pad = output[written - 1]
    if not 1 <= pad <= _BLOCK or output[written - pad : written] != bytes([pad]) * pad:
        return None
    return memoryview(output)[: written - pad]


@dataclass(frozen=True)
class Decryption:
    """What decrypting found: the plaintext and the entry that opened it (both None when
    no key could), and why key agreements meant for one of our keys were refused."""

    plaintext: Plaintext | None
    entry: KeyEntry | None
    refusals: tuple[str, ...] = ()
    key_encryption: str | None = None
    """How the content key reached the entry: ``rsaes_pkcs1v15``, ``rsaes_oaep`` or the
    key agreement scheme with its wrap (``dhSinglePass-stdDH-sha384kdf-scheme with
    aes256_wrap``)."""


@dataclass(frozen=True)
class _Attempt:
    entry: KeyEntry
    transport: KeyTransport | None = None
    agreement: KeyAgreement | None = None
    index: int = 0


def _attempts(view: EnvelopedView, entries: Sequence[KeyEntry], *, named: bool) -> list[_Attempt]:
    """Each (recipient info, key) pair to try: those that name the key, or every pair of
    the right key type when ``named`` is False."""
    found: list[_Attempt] = []
    for entry in entries:
        pair = CertificatePair.from_certificate(entry.certificate)
        if isinstance(entry.private_key, rsa.RSAPrivateKey):
            found += [
                _Attempt(entry, transport=info)
                for info in view.recipient_infos
                if not named or pair.matches(info.rid)
            ]
        else:
            found += [
                _Attempt(entry, agreement=agreement, index=index)
                for agreement in view.key_agreements
                for index, rid in agreement.recipients()
                if not named or matches_recipient(pair, rid)
            ]
    return found


def decrypt(view: EnvelopedView, entries: Sequence[KeyEntry]) -> Decryption:
    """Open the envelope with any of ``entries``; see the module docstring.

    The caller has checked that ``view.algorithm`` is allowed.
    """
    size = ALLOWED_CONTENT_CIPHERS[view.algorithm]
    attempts = _attempts(view, entries, named=True)
    named = bool(attempts)
    if not named:
        attempts = _attempts(view, entries, named=False)
    refusals: list[str] = []
    for attempt in attempts:
        key: bytes | None = None
        private_key = attempt.entry.private_key
        if attempt.transport is not None and isinstance(private_key, rsa.RSAPrivateKey):
            key = _unwrap(attempt.transport, private_key, size)
        elif attempt.agreement is not None and isinstance(private_key, ec.EllipticCurvePrivateKey):
            try:
                key = attempt.agreement.unwrap(attempt.index, private_key, size)
            except KeyAgreementRefused as refused:
                if named:
                    subject = describe_subject(attempt.entry.certificate)
                    refusals.append(f"The key agreement for {subject} is refused: {refused}.")
        if key is None:
            continue
        plaintext = _decrypt_content(view, key)
        if plaintext is not None:
            how = (
                attempt.agreement.describe()
                if attempt.agreement is not None
                else attempt.transport.algorithm_name
                if attempt.transport is not None
                else None
            )
            return Decryption(plaintext, attempt.entry, key_encryption=how)
    return Decryption(None, None, tuple(dict.fromkeys(refusals)))


def open_envelope(
    envelope: EnvelopedView, keystores: Sequence[Keystore], issues: list[Issue]
) -> Decryption:
    """Decrypt with every key of ``keystores`` (unseal's step 3); appends why not to
    ``issues``: a cipher other than AES-CBC, refused key agreements, or no key."""
    if envelope.algorithm not in ALLOWED_CONTENT_CIPHERS:
        issues.append(
            Issue(
                "algorithm_not_allowed",
                "envelope",
                f"The content is encrypted with {envelope.algorithm}; only AES-CBC is allowed.",
            )
        )
        return Decryption(None, None)
    decryption = decrypt(envelope, [entry for keystore in keystores for entry in keystore.entries])
    if decryption.plaintext is None and decryption.refusals:
        issues += [
            Issue("key_agreement_refused", "envelope", sentence) for sentence in decryption.refusals
        ]
    elif decryption.plaintext is None:
        issues.append(
            Issue("no_key", "envelope", "None of the keys given can decrypt this message.")
        )
    return decryption
