"""Seal a message the eHealth ETEE way: sign, encrypt, sign (RFC 5652 triple wrapping).

Layout (what the Belgian eHealth ETEE libraries write and read):

* outer ContentInfo(SignedData), version 1: for an RSA sender SHA-256 and RSASSA-PSS
  (RFC 4055: SHA-256, MGF1-SHA-256, salt 32, trailer 1); for an EC sender ECDSA with the
  hash of its curve's strength, SHA-256 on P-256 and SHA-384 on P-384 (RFC 5753 section
  2.1.1, RFC 5758 section 3.2, NIST SP 800-57 part 1 table 3), the signature value DER
  encoded (ECDSA-Sig-Value); signed attributes contentType, signingTime,
  messageDigest (RFC 5652 section 11); certificates = the sender's certificate and its
  chain; eContent (id-data) = the DER of
* ContentInfo(EnvelopedData): one KeyTransRecipientInfo per RSA recipient
  (RSAES-PKCS1-v1_5, by issuerAndSerialNumber) and one KeyAgreeRecipientInfo per EC
  recipient (ephemeral-static ECDH, RFC 5753: :mod:`ehcert.client.etee.key_agreement`),
  mixed as the recipients come; AES-128-CBC by default (AES-256 on request); encrypted
  content (id-data) = the DER of
* ContentInfo(SignedData) by the same signer with the same algorithms and NO
  certificates (the reader takes them from the outer layer); eContent = the content.

The sender signs with its authentication key (eHealth: the same key signs both layers;
its certificate's nonRepudiation bit makes the inner signature non-repudiable).

Memory and passes: the inner layer is a list of parts around the caller's content (one
pass to hash it); the two outer layers are made in a second pass that encrypts the inner
layer in chunks, hashes each chunk of ciphertext and writes it straight into the
returned message, whose DER headers are written first from the lengths alone. The
returned message is the only payload-sized buffer: peak ≈ 1 x message size above the
caller's own copy of the content (bench/bench_seal.py measures it).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from ehcert.client.etee import der
from ehcert.client.etee.cms import (
    ECDSA_SHA256,
    ECDSA_SHA384,
    PSS_SHA256,
    CertificatePair,
    build_signed_data,
    signed_data_frame,
    signer_info,
)
from ehcert.client.etee.der import Parts
from ehcert.client.etee.envelope import (
    CIPHERS,
    EnvelopeFrame,
    envelope_frame,
    padded_length,
    padding_block,
)
from ehcert.pki.cms_signature import hash_algorithm
from ehcert.pki.keystore_entries import KeyEntry
from ehcert.pki.public_keys import check_public_key
from ehcert.pki.revocation import describe_subject

PSS_SALT_LENGTH = 32
CHUNK = 1 << 18
"""Bytes encrypted and hashed per step: small enough to stay in the CPU's cache between
the cipher and the hash, large enough that the per-call cost does not show."""
_ECDSA_FOR_CURVE = {
    "secp256r1": ("sha256", ECDSA_SHA256),
    "secp384r1": ("sha384", ECDSA_SHA384),
}
"""An EC sender's digest and signature algorithm by curve (see the module docstring)."""


def _signing(sender: KeyEntry) -> tuple[str, bytes, Callable[[bytes], bytes]]:
    """The digest name, signature AlgorithmIdentifier and signing function of ``sender``."""
    key = sender.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        digest, algorithm = _ECDSA_FOR_CURVE[key.curve.name]  # the key policy's curves
        ec_key, hash_type = key, getattr(hashes, digest.upper())

        def sign_ecdsa(message: bytes) -> bytes:
            return ec_key.sign(message, ec.ECDSA(hash_type()))

        return digest, algorithm, sign_ecdsa
    rsa_key = key

    def sign_pss(message: bytes) -> bytes:
        return rsa_key.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH),
            hashes.SHA256(),
        )

    return "sha256", PSS_SHA256, sign_pss


def seal(
    content: bytes,
    *,
    sender: KeyEntry,
    recipients: Sequence[x509.Certificate],
    include_sender_encryption: x509.Certificate | None = None,
    cipher: str = "aes128",
    signing_time: dt.datetime,
) -> bytes:
    """Seal ``content`` for ``recipients`` (their encryption certificates).

    ``sender`` is the authentication key entry (key, certificate, chain).
    ``include_sender_encryption`` adds the sender's own encryption certificate as a
    recipient so the sender can reread what it sent. Duplicate recipients are written
    once. Raises TypeError/ValueError for wrong arguments (no recipient, unknown cipher,
    naive time) and EhcertError(BAD_KEY) for a sender or recipient key outside the key
    policy (``core.keys``: RSA of at least 2048 bits, EC on P-256 or P-384).
    """
    if not isinstance(content, bytes | bytearray | memoryview):
        raise TypeError("content must be bytes")
    if not isinstance(sender, KeyEntry):
        raise TypeError("sender must be a KeyEntry")
    if cipher not in CIPHERS:
        raise ValueError(f"cipher must be one of {sorted(CIPHERS)}")
    if not isinstance(signing_time, dt.datetime):
        raise TypeError("signing_time must be a datetime")
    if signing_time.tzinfo is None or signing_time.utcoffset() is None:
        raise ValueError("signing_time must be timezone-aware")
    targets = list(recipients)
    if include_sender_encryption is not None:
        targets.append(include_sender_encryption)
    if not all(isinstance(t, x509.Certificate) for t in targets):
        raise TypeError("recipients must be x509.Certificate objects")
    if not targets:
        raise ValueError("at least one recipient is required")
    check_public_key(sender.certificate.public_key(), "sender's key", field="sender")
    unique: dict[bytes, CertificatePair] = {}
    for target in targets:
        what = f"key of the recipient certificate of {describe_subject(target)}"
        check_public_key(target.public_key(), what, field="recipients")
        pair = CertificatePair.from_certificate(target)
        unique.setdefault(pair.asn1.dump(), pair)

    digest, signature_algorithm, sign = _signing(sender)
    signer = CertificatePair.from_certificate(sender.certificate)
    chain = [signer, *(CertificatePair.from_certificate(c) for c in sender.chain)]
    inner = build_signed_data(
        [memoryview(content)],
        signer=signer,
        sign=sign,
        signature_algorithm=signature_algorithm,
        certificates=(),
        signing_time=signing_time,
        digest_algorithm=digest,
    )
    return _encrypt_and_sign(
        inner,
        envelope_frame(list(unique.values()), cipher, padded_length(der.parts_length(inner))),
        signer=signer,
        sign=sign,
        signature_algorithm=signature_algorithm,
        chain=chain,
        signing_time=signing_time,
        digest_algorithm=digest,
        signature_length=_signature_length(sender),
    )


def _signature_length(sender: KeyEntry) -> int:
    """The length of ``sender``'s signature value: exact for RSA, the longest DER
    ECDSA-Sig-Value for EC (two INTEGERs of the order's size plus a sign octet)."""
    key = sender.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        integer = 2 + (key.curve.key_size + 7) // 8 + 1
        return len(der.header(0x30, 2 * integer)) + 2 * integer
    return (key.key_size + 7) // 8


def _encrypt_and_sign(
    inner: Parts,
    frame: EnvelopeFrame,
    *,
    signer: CertificatePair,
    sign: Callable[[bytes], bytes],
    signature_algorithm: bytes,
    chain: Sequence[CertificatePair],
    signing_time: dt.datetime,
    digest_algorithm: str,
    signature_length: int,
) -> bytes:
    """Encrypt ``inner`` into the EnvelopedData of ``frame`` and sign that: the two outer
    layers in one pass over the content, written straight into the returned message.

    The outer SignedData's header holds only lengths (:func:`signed_data_frame`), so it
    is written first with a placeholder signature of the signer's signature length; the
    ciphertext follows in chunks, each hashed for the outer messageDigest as it is made
    (RFC 5652 5.4), then the real SignerInfo. An ECDSA signature can be shorter than the
    placeholder; the header's length octets then usually keep their size and are
    rewritten in place, and only when they do not is the message copied once.
    """
    plaintext_length = der.parts_length(inner)
    envelope_length = len(frame.prefix) + padded_length(plaintext_length)

    def frame_for(signer_info_der: bytes) -> tuple[bytes, bytes]:
        return signed_data_frame(
            envelope_length,
            digest_algorithm=digest_algorithm,
            certificates=chain,
            signer_info_der=signer_info_der,
        )

    def placeholder(_: bytes) -> bytes:
        return bytes(signature_length)

    provisional, _ = frame_for(
        signer_info(
            signer,
            digest=bytes(hash_algorithm(digest_algorithm).digest_size),
            digest_algorithm=digest_algorithm,
            sign=placeholder,
            signature_algorithm=signature_algorithm,
            signing_time=signing_time,
        )
    )
    out = io.BytesIO()
    out.write(provisional)
    out.write(frame.prefix)
    hasher = hashes.Hash(hash_algorithm(digest_algorithm))
    hasher.update(frame.prefix)
    encryptor = frame.encryptor()
    for part in inner:
        view = memoryview(part)
        for start in range(0, len(view), CHUNK):
            block = encryptor.update(view[start : start + CHUNK])
            hasher.update(block)
            out.write(block)
    block = encryptor.update(padding_block(plaintext_length)) + encryptor.finalize()
    hasher.update(block)
    out.write(block)
    info = signer_info(
        signer,
        digest=hasher.finalize(),
        digest_algorithm=digest_algorithm,
        sign=sign,
        signature_algorithm=signature_algorithm,
        signing_time=signing_time,
    )
    prefix, suffix = frame_for(info)
    out.write(suffix)
    if len(prefix) == len(provisional):
        out.seek(0)
        out.write(prefix)
        return out.getvalue()  # the buffer itself, not a copy (it has no other user)
    with out.getbuffer() as written:
        return b"".join((prefix, written[len(provisional) :]))
