"""The chunked seal and unseal paths: exact round trips around every chunk boundary, and
damage in the middle of a large message refused by the layer that covers it."""

from __future__ import annotations

import importlib
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcert.client.etee import envelope as envelope_module
from ehcert.client.etee import seal, unseal
from ehcert.client.etee.cms import (
    PSS_SHA256,
    CertificatePair,
    build_signed_data,
    read_signed_data,
)
from ehcert.client.etee.envelope import _HEAD, EnvelopeFrame, build_enveloped_data, envelope_frame
from ehcert.client.etee.envelope import CHUNK as DECRYPT_CHUNK
from ehcert.client.etee.seal import CHUNK as ENCRYPT_CHUNK
from ehcert.client.etee.seal import _signing

from .conftest import T_OWN

seal_module = importlib.import_module("ehcert.client.etee.seal")  # the package exports seal()

BOUNDARIES = (0, 16, _HEAD, ENCRYPT_CHUNK, DECRYPT_CHUNK, DECRYPT_CHUNK + _HEAD, 2 * ENCRYPT_CHUNK)
"""Content sizes near which a chunk, the first decrypted block or a CBC block ends (the
inner headers add a few dozen bytes, the offsets below cover them)."""


def _content(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _seal(pki, content: bytes) -> bytes:
    return seal(
        content,
        sender=pki.alice.authentication,
        recipients=[pki.bob.encryption.certificate],
        signing_time=T_OWN,
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    boundary=st.sampled_from(BOUNDARIES),
    offset=st.integers(min_value=-80, max_value=40),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_round_trip_around_chunk_boundaries(own_pki, boundary, offset, seed) -> None:
    content = _content(max(boundary + offset, 0), seed)
    result = unseal(
        _seal(own_pki, content), [own_pki.bob.keystore], anchors=[own_pki.root], at=T_OWN
    )
    assert result.report.data.valid and result.report.trust.trusted
    assert result.content == content
    assert type(result.content) is bytes


def test_sealed_message_is_what_the_parts_builder_writes(own_pki, monkeypatch) -> None:
    """The streamed writer's DER is byte for byte the one the parts builders write (the
    same content key, IV and recipient info, and a fixed stand-in signature)."""
    content = _content(3 * ENCRYPT_CHUNK + 5, 1)
    frames: dict[object, EnvelopeFrame] = {}

    def one_frame(recipients, cipher, length):  # the same random key and IV for both
        return frames.setdefault(length, envelope_frame(recipients, cipher, length))

    monkeypatch.setattr(seal_module, "envelope_frame", one_frame)
    monkeypatch.setattr(envelope_module, "envelope_frame", one_frame)
    sender = own_pki.alice.authentication
    digest, algorithm, _ = _signing(sender)

    def sign(message: bytes) -> bytes:  # deterministic stand-in of the right length
        return bytes(256)

    monkeypatch.setattr(seal_module, "_signing", lambda _: (digest, algorithm, sign))
    streamed = _seal(own_pki, content)

    signer = CertificatePair.from_certificate(sender.certificate)
    options = {
        "signer": signer,
        "sign": sign,
        "signature_algorithm": PSS_SHA256,
        "signing_time": T_OWN,
        "digest_algorithm": digest,
    }
    inner = build_signed_data([content], certificates=(), **options)
    recipient = CertificatePair.from_certificate(own_pki.bob.encryption.certificate)
    envelope = build_enveloped_data(inner, [recipient], "aes128")
    chain = [signer, *(CertificatePair.from_certificate(c) for c in sender.chain)]
    built = b"".join(build_signed_data([b"".join(envelope)], certificates=chain, **options))
    assert streamed == built


def _resealed(pki, envelope: bytes) -> bytes:
    """The message around an altered envelope, validly signed: only the envelope is at fault."""
    sender = pki.alice.authentication
    digest, algorithm, sign = _signing(sender)
    signer = CertificatePair.from_certificate(sender.certificate)
    chain = [signer, *(CertificatePair.from_certificate(c) for c in sender.chain)]
    return b"".join(
        build_signed_data(
            [envelope],
            signer=signer,
            sign=sign,
            signature_algorithm=algorithm,
            certificates=chain,
            signing_time=T_OWN,
            digest_algorithm=digest,
        )
    )


def test_tampered_middle_of_large_message_fails_the_outer_signature(own_pki) -> None:
    message = bytearray(_seal(own_pki, _content(3 * DECRYPT_CHUNK, 2)))
    message[len(message) // 2] ^= 0x01
    result = unseal(bytes(message), [own_pki.bob.keystore], anchors=[own_pki.root], at=T_OWN)
    assert not result.report.data.valid
    assert result.content is None
    assert any(issue.where == "outer" for issue in result.report.data.issues)


def test_tampered_ciphertext_under_a_valid_outer_signature_fails_the_inner_one(own_pki) -> None:
    message = _seal(own_pki, _content(3 * DECRYPT_CHUNK, 3))
    envelope = bytearray(read_signed_data(memoryview(message), "test").content or b"")
    envelope[len(envelope) // 2] ^= 0x80  # garbles two blocks of the content, inside a chunk
    result = unseal(
        _resealed(own_pki, bytes(envelope)),
        [own_pki.bob.keystore],
        anchors=[own_pki.root],
        at=T_OWN,
    )
    assert not result.report.data.valid
    assert result.content is None
    assert result.report.data.outer is not None and result.report.data.outer.signature_valid
    assert [issue.where for issue in result.report.data.issues] == ["inner"]


def test_tampered_inner_signature_at_the_end_of_a_large_message_is_refused(own_pki) -> None:
    message = _seal(own_pki, _content(2 * DECRYPT_CHUNK + 7, 4))
    envelope = bytearray(read_signed_data(memoryview(message), "test").content or b"")
    envelope[-40] ^= 0x01  # the last blocks hold the inner SignerInfo's signature
    result = unseal(
        _resealed(own_pki, bytes(envelope)),
        [own_pki.bob.keystore],
        anchors=[own_pki.root],
        at=T_OWN,
    )
    assert not result.report.data.valid
    assert result.content is None


def test_signature_shorter_than_its_placeholder_moves_the_header(own_pki, monkeypatch) -> None:
    """An ECDSA signature can be shorter than the longest one the header was written for;
    when that changes the size of a length (forced here with a huge placeholder), the
    message is rebuilt with the right header."""
    monkeypatch.setattr(seal_module, "_signature_length", lambda _: 70_000)
    content = _content(5000, 5)
    result = unseal(
        _seal(own_pki, content), [own_pki.bob.keystore], anchors=[own_pki.root], at=T_OWN
    )
    assert result.report.data.valid and result.content == content


def test_ec_sender_and_recipient_round_trip_across_chunks(own_pki, ec_pki) -> None:
    content = _content(DECRYPT_CHUNK + _HEAD + 3, 6)
    sender, recipient = ec_pki.dave, ec_pki.erin
    message = seal(
        content,
        sender=sender.authentication,
        recipients=[recipient.encryption.certificate],
        signing_time=T_OWN,
    )
    result = unseal(message, [recipient.keystore], anchors=[own_pki.root], at=T_OWN)
    assert result.report.data.valid and result.content == content
