"""Seal and unseal round trips on our own PKI, plus a fuzz test of the reader."""

from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcert.client.etee import seal, unseal
from ehcert.core.errors import EhcertError, ErrorKind

from .conftest import T_OWN


def _seal(pki, content=b"lab result", recipients=None, **options):
    targets = recipients if recipients is not None else [pki.bob.encryption.certificate]
    return seal(
        content, sender=pki.alice.authentication, recipients=targets, signing_time=T_OWN, **options
    )


def _attempt(message, keystores, anchors):
    """The Unsealed result, or the EhcertError raised (any other exception propagates)."""
    try:
        return unseal(message, keystores, anchors=anchors, at=T_OWN)
    except EhcertError as error:
        return error


def test_round_trip_for_several_recipients(own_pki) -> None:
    message = _seal(
        own_pki,
        recipients=[own_pki.bob.encryption.certificate, own_pki.carol.encryption.certificate],
    )
    for reader in (own_pki.bob, own_pki.carol):
        result = unseal(message, [reader.keystore], anchors=[own_pki.root], at=T_OWN)
        assert result.content == b"lab result"
        report = result.report
        assert report.data.valid and report.trust.trusted, report
        assert report.trust.non_repudiation and report.trust.same_signer
        assert report.data.opened_with == reader.encryption.alias
        assert (
            report.data.outer is not None and report.data.outer.signature_algorithm == "rsassa_pss"
        )
        assert report.data.outer.signing_time == T_OWN


def test_sender_added_as_recipient_can_reread(own_pki) -> None:
    message = _seal(own_pki, include_sender_encryption=own_pki.alice.encryption.certificate)
    assert (
        unseal(message, [own_pki.alice.keystore], anchors=[own_pki.root], at=T_OWN).content
        == b"lab result"
    )
    without = _seal(own_pki)
    result = unseal(without, [own_pki.alice.keystore], anchors=[own_pki.root], at=T_OWN)
    assert result.content is None and {i.code for i in result.report.data.issues} == {"no_key"}


def test_aes256_and_structure(own_pki) -> None:
    message = _seal(own_pki, cipher="aes256")
    result = unseal(message, [own_pki.bob.keystore], anchors=[own_pki.root], at=T_OWN)
    assert result.content == b"lab result" and result.report.data.content_encryption == "aes256_cbc"
    outer = cms.ContentInfo.load(message, strict=True)
    signed = outer["content"]
    assert len(signed["certificates"]) == 2  # sender and its chain
    signer = signed["signer_infos"][0]
    params = signer["signature_algorithm"]["parameters"]
    assert params["salt_length"].native == 32
    assert params["mask_gen_algorithm"]["parameters"]["algorithm"].native == "sha256"
    attributes = signer["signed_attrs"]
    assert {a["type"].native for a in attributes} == {
        "content_type",
        "signing_time",
        "message_digest",
    }
    encodings = [a.dump() for a in attributes]
    assert encodings == sorted(encodings)  # DER SET OF order
    enveloped = cms.ContentInfo.load(signed["encap_content_info"]["content"].native)
    assert (
        enveloped["content"]["recipient_infos"][0]
        .chosen["key_encryption_algorithm"]["algorithm"]
        .native
        == "rsaes_pkcs1v15"
    )


def test_empty_and_binary_content(own_pki) -> None:
    for content in (b"", bytes(range(256)) * 3, b"x" * 16):
        result = unseal(
            _seal(own_pki, content=content),
            [own_pki.bob.keystore],
            anchors=[own_pki.root],
            at=T_OWN,
        )
        assert result.content == content


def test_tampered_ciphertext_or_signature_gives_no_content(own_pki) -> None:
    message = bytearray(_seal(own_pki, content=b"A" * 4000))
    middle = len(message) // 2
    message[middle] ^= 0x40  # inside the ciphertext: the outer digest no longer matches
    outcome = _attempt(bytes(message), [own_pki.bob.keystore], [own_pki.root])
    if isinstance(outcome, EhcertError):
        assert outcome.kind is ErrorKind.MALFORMED
    else:
        assert outcome.content is None and not outcome.report.data.valid


def test_trust_without_anchor_and_after_expiry(own_pki) -> None:
    message = _seal(own_pki)
    no_anchor = unseal(message, [own_pki.bob.keystore], anchors=[], at=T_OWN).report
    assert no_anchor.data.valid and "untrusted_chain" in no_anchor.trust.codes("sender")
    later = unseal(
        message,
        [own_pki.bob.keystore],
        anchors=[own_pki.root],
        at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    ).report
    assert (
        later.data.valid
        and {"expired"} <= later.trust.codes("sender")
        and "expired" in later.trust.codes("recipient")
    )


def test_refusals_for_wrong_arguments(own_pki) -> None:
    with pytest.raises(ValueError, match="recipient"):
        _seal(own_pki, recipients=[])
    with pytest.raises(ValueError, match="cipher"):
        _seal(own_pki, cipher="des")
    with pytest.raises(ValueError, match="timezone"):
        seal(
            b"x",
            sender=own_pki.alice.authentication,
            recipients=[own_pki.bob.encryption.certificate],
            signing_time=dt.datetime(2026, 1, 1),
        )
    with pytest.raises(TypeError):
        seal(
            "text",
            sender=own_pki.alice.authentication,
            recipients=[own_pki.bob.encryption.certificate],
            signing_time=T_OWN,
        )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sealed_sample(own_pki) -> bytes:
    return _seal(own_pki, content=b"fuzz me" * 10)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_messages_never_raise_anything_but_malformed(data, sealed_sample, own_pki) -> None:
    message = bytearray(sealed_sample)
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        position = data.draw(st.integers(0, len(message) - 1))
        if action == "flip":
            message[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del message[position : position + data.draw(st.integers(1, 64))]
        else:
            message[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        if not message:
            message = bytearray(b"\x30")
    outcome = _attempt(bytes(message), [own_pki.bob.keystore], [own_pki.root])
    if isinstance(outcome, EhcertError):
        assert outcome.kind is ErrorKind.MALFORMED
        assert outcome.detail.endswith(".")
    elif outcome.content is not None:
        assert outcome.report.data.valid


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_malformed(blob) -> None:
    outcome = _attempt(blob, [], [])
    assert isinstance(outcome, EhcertError) and outcome.kind is ErrorKind.MALFORMED
