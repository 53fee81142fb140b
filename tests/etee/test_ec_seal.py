"""Sealed messages with EC senders and recipients (RFC 5753): round trips, the wire
format, refusals, and a property test over mixed RSA/EC recipient sets."""

from __future__ import annotations

import datetime as dt

import pytest
from asn1crypto import cms, core
from asn1crypto import cms as asn1_cms
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcert.client.etee import seal, unseal
from ehcert.client.etee.cms import PSS_SHA256, CertificatePair, build_signed_data
from ehcert.client.etee.envelope import build_enveloped_data
from ehcert.client.etee.key_agreement import (
    KeyAgreement,
    KeyAgreementRefused,
    _AlgorithmIdentifier,
    _kek,
    _KeyAgreeRecipientInfo,
    build_key_agreement,
)
from ehcert.client.etee.seal import _signing
from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.keystore_entries import KeyEntry
from ehcert.pki.profile_parts import key_usage

from .conftest import T_OWN, ec_provider

CONTENT = b"Lab result: HbA1c 6.1 %\n"


def _message(sender: KeyEntry, recipients, **options) -> bytes:
    return seal(CONTENT, sender=sender, recipients=recipients, signing_time=T_OWN, **options)


def _open(message: bytes, reader, own_pki):
    return unseal(message, [reader.keystore], anchors=[own_pki.root], at=T_OWN)


def _attempt(message: bytes, reader, own_pki):
    """The Unsealed result, or the EhcertError raised (any other exception propagates)."""
    try:
        return _open(message, reader, own_pki)
    except EhcertError as error:
        return error


def test_ec_sender_and_recipients_round_trip(own_pki, ec_pki) -> None:
    dave, erin = ec_pki.dave, ec_pki.erin
    message = _message(
        dave.authentication,
        [erin.encryption.certificate],
        include_sender_encryption=dave.encryption.certificate,
    )
    for reader, curve, kdf in ((erin, "secp256r1", "sha256"), (dave, "secp384r1", "sha384")):
        result = _open(message, reader, own_pki)
        assert result.content == CONTENT
        report = result.report
        assert report.data.valid and report.trust.trusted, report
        assert report.trust.non_repudiation and report.trust.same_signer
        assert report.data.opened_with == reader.encryption.alias
        assert report.data.opened_with_key == f"EC {curve}"
        assert report.data.key_encryption == (
            f"dhSinglePass-stdDH-{kdf}kdf-scheme with aes128_wrap"
        )
        assert report.to_dict()["data"]["opened_with_key"] == f"EC {curve}"
        for layer in (report.data.outer, report.data.inner):
            assert layer is not None
            assert (layer.digest_algorithm, layer.signature_algorithm) == (
                "sha384",
                "sha384_ecdsa",
            )


def test_p256_sender_signs_with_sha256(own_pki, ec_pki) -> None:
    message = _message(ec_pki.erin.authentication, [ec_pki.dave.encryption.certificate])
    report = _open(message, ec_pki.dave, own_pki).report
    assert report.data.valid and report.trust.trusted, report
    assert report.data.outer is not None
    assert report.data.outer.digest_algorithm == "sha256"
    assert report.data.outer.signature_algorithm == "sha256_ecdsa"


def test_rsa_and_ec_recipients_mix_in_one_message(own_pki, ec_pki) -> None:
    recipients = [
        own_pki.bob.encryption.certificate,
        ec_pki.dave.encryption.certificate,
        ec_pki.erin.encryption.certificate,
    ]
    for sender in (own_pki.alice.authentication, ec_pki.dave.authentication):
        message = _message(sender, recipients)
        for reader, key, how in (
            (own_pki.bob, "RSA 2048", "rsaes_pkcs1v15"),
            (ec_pki.dave, "EC secp384r1", "dhSinglePass-stdDH-sha384kdf-scheme with aes128_wrap"),
            (ec_pki.erin, "EC secp256r1", "dhSinglePass-stdDH-sha256kdf-scheme with aes128_wrap"),
        ):
            result = _open(message, reader, own_pki)
            assert result.content == CONTENT, result.report
            assert result.report.trust.trusted, result.report
            assert (result.report.data.opened_with_key, result.report.data.key_encryption) == (
                key,
                how,
            )
        outsider = _open(message, own_pki.carol, own_pki)
        assert outsider.content is None
        assert {i.code for i in outsider.report.data.issues} == {"no_key"}


@pytest.mark.parametrize(
    ("who", "cipher", "scheme", "wrap"),
    [
        ("dave", "aes128", "1.3.132.1.11.2", "2.16.840.1.101.3.4.1.5"),
        ("dave", "aes256", "1.3.132.1.11.2", "2.16.840.1.101.3.4.1.45"),
        ("erin", "aes128", "1.3.132.1.11.1", "2.16.840.1.101.3.4.1.5"),
        ("erin", "aes256", "1.3.132.1.11.1", "2.16.840.1.101.3.4.1.45"),
    ],
)
def test_key_agreement_wire_format(own_pki, ec_pki, who, cipher, scheme, wrap) -> None:
    """RFC 5753 3.1.1 and 7.1.4: version 3 kari, ephemeral originatorKey (id-ecPublicKey,
    parameters absent, uncompressed point on the recipient's curve), the curve's KDF
    scheme with the AES wrap of the content cipher's size, issuerAndSerialNumber."""
    recipient = getattr(ec_pki, who).encryption.certificate
    message = _message(
        own_pki.alice.authentication,
        [recipient, own_pki.bob.encryption.certificate],
        cipher=cipher,
    )
    envelope = cms.ContentInfo.load(message)["content"]["encap_content_info"]["content"].native
    info = cms.ContentInfo.load(envelope)["content"]
    assert info["version"].native == "v2"  # RFC 5652 6.1: a kari is present
    raw = [choice.dump() for choice in info["recipient_infos"]]
    karis = [r for r in raw if r[0] == 0xA1]
    assert len(karis) == 1 and sum(r[0] == 0x30 for r in raw) == 1
    kari = _KeyAgreeRecipientInfo.load(b"\x30" + karis[0][1:])
    assert kari["version"].native == "v3"
    originator = kari["originator"]
    assert originator.name == "originator_key"
    algorithm = originator.chosen["algorithm"]
    assert algorithm["algorithm"].dotted == "1.2.840.10045.2.1"
    assert algorithm["parameters"].native is None
    point = bytes(originator.chosen["public_key"].native)
    curve = recipient.public_key().curve
    assert point[0] == 4 and len(point) == 1 + 2 * ((curve.key_size + 7) // 8)
    ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    key_encryption = kari["key_encryption_algorithm"]
    assert key_encryption["algorithm"].dotted == scheme
    wrap_algorithm = _AlgorithmIdentifier.load(key_encryption["parameters"].dump())
    assert wrap_algorithm["algorithm"].dotted == wrap
    assert wrap_algorithm["parameters"].native is None  # absent, RFC 3565 section 2.3.2
    rek = kari["recipient_encrypted_keys"][0]
    assert rek["rid"].name == "issuer_and_serial_number"
    assert rek["rid"].chosen["serial_number"].native == recipient.serial_number
    assert len(rek["encrypted_key"].native) == {"aes128": 24, "aes256": 40}[cipher]


def test_wrap_parameters_are_absent(own_pki, ec_pki) -> None:
    """AES key wrap identifiers carry no parameters (RFC 3565 section 2.3.2)."""
    message = _message(own_pki.alice.authentication, [ec_pki.dave.encryption.certificate])
    envelope = cms.ContentInfo.load(message)["content"]["encap_content_info"]["content"].native
    choice = cms.ContentInfo.load(envelope)["content"]["recipient_infos"][0]
    kari = _KeyAgreeRecipientInfo.load(b"\x30" + choice.dump()[1:])
    wrap = _AlgorithmIdentifier.load(kari["key_encryption_algorithm"]["parameters"].dump())
    assert wrap["algorithm"].dotted == "2.16.840.1.101.3.4.1.5"
    assert wrap.dump() == bytes.fromhex("300b0609608648016503040105")


# ---------------------------------------------------------------------------- refusals


def _certificate_on(curve: ec.EllipticCurve, own_pki) -> x509.Certificate:
    key = ec.generate_private_key(curve)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Off-policy curve")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(own_pki.root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2029, 1, 1, tzinfo=dt.UTC))
        .add_extension(
            x509.KeyUsage(False, False, False, False, True, False, False, False, False), True
        )
        .sign(own_pki.root_key, hashes.SHA256())
    )


@pytest.mark.parametrize(("curve", "label"), [(ec.SECP521R1(), "P-521"), (ec.SECP224R1(), "P-224")])
def test_recipient_on_unsupported_curve_is_refused_in_one_sentence(own_pki, curve, label) -> None:
    recipient = _certificate_on(curve, own_pki)
    with pytest.raises(EhcertError) as raised:
        _message(own_pki.alice.authentication, [recipient])
    assert raised.value.kind is ErrorKind.BAD_KEY
    assert raised.value.field == "recipients"
    assert f"EC ({label})" in raised.value.detail and "P-256 or P-384" in raised.value.detail
    assert raised.value.detail.count(".") == 1 and raised.value.detail.endswith(".")


def _resealed(envelope: bytes, sender: KeyEntry) -> bytes:
    """A triple-wrapped message around a given (altered) envelope, validly signed: so only
    the envelope is at fault."""
    digest, algorithm, sign = _signing(sender)
    signer = CertificatePair.from_certificate(sender.certificate)
    chain = [signer, *(CertificatePair.from_certificate(c) for c in sender.chain)]
    outer = build_signed_data(
        [envelope],
        signer=signer,
        sign=sign,
        signature_algorithm=algorithm,
        certificates=chain,
        signing_time=T_OWN,
        digest_algorithm=digest,
    )
    return b"".join(outer)


def _envelope_for(recipient: x509.Certificate, sender: KeyEntry, cipher: str = "aes256") -> bytes:
    digest, algorithm, sign = _signing(sender)
    signer = CertificatePair.from_certificate(sender.certificate)
    inner = build_signed_data(
        [CONTENT],
        signer=signer,
        sign=sign,
        signature_algorithm=algorithm,
        certificates=(),
        signing_time=T_OWN,
        digest_algorithm=digest,
    )
    return b"".join(
        build_enveloped_data(inner, [CertificatePair.from_certificate(recipient)], cipher)
    )


def _originator_point(envelope: bytes) -> bytes:
    choice = cms.ContentInfo.load(envelope)["content"]["recipient_infos"][0]
    kari = _KeyAgreeRecipientInfo.load(b"\x30" + choice.dump()[1:])
    return bytes(kari["originator"].chosen["public_key"].native)


def _refusal(message: bytes, reader, own_pki) -> str:
    result = _open(message, reader, own_pki)
    assert result.content is None
    issues = result.report.data.issues
    assert [i.code for i in issues] == ["key_agreement_refused"], issues
    return issues[0].detail


def test_point_off_the_curve_is_refused(own_pki, ec_pki) -> None:
    dave = ec_pki.dave
    envelope = _envelope_for(dave.encryption.certificate, own_pki.alice.authentication)
    point = _originator_point(envelope)
    off_curve = point[:-1] + bytes([point[-1] ^ 1])
    assert envelope.count(point) == 1
    message = _resealed(envelope.replace(point, off_curve), own_pki.alice.authentication)
    detail = _refusal(message, dave, own_pki)
    assert detail.endswith("the sender's ephemeral public key is not a point on P-384.")
    assert detail.count(".") == 1


def test_point_of_another_curve_is_refused(own_pki, ec_pki) -> None:
    """A P-256 ephemeral key in a key agreement for a P-384 recipient."""
    dave = ec_pki.dave
    envelope = _envelope_for(dave.encryption.certificate, own_pki.alice.authentication)
    point = _originator_point(envelope)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    short = other.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    # same total length: pad the P-256 point with an unrelated tail so lengths still fit
    assert len(short) < len(point)
    message = _resealed(
        envelope.replace(point, short + b"\x00" * (len(point) - len(short))),
        own_pki.alice.authentication,
    )
    assert "is not a point on P-384" in _refusal(message, dave, own_pki)


OID_AES128_WRAP = bytes.fromhex("0609608648016503040105")
OID_AES256_WRAP = bytes.fromhex("060960864801650304012d")
OID_AES256_GCM = bytes.fromhex("060960864801650304012e")
OID_SHA384_KDF = bytes.fromhex("06062b8104010b02")
OID_SHA224_KDF = bytes.fromhex("06062b8104010b00")
OID_UNKNOWN_KDF = bytes.fromhex("06062b8104010b09")


@pytest.mark.parametrize(
    ("before", "after", "sentence"),
    [
        (
            OID_AES256_WRAP,
            OID_AES128_WRAP,
            "the key wrap aes128_wrap does not match the content cipher's 256-bit key.",
        ),
        (
            OID_AES256_WRAP,
            OID_AES256_GCM,
            "the key wrap algorithm (2.16.840.1.101.3.4.1.46) is not AES key wrap (RFC 3394).",
        ),
        (
            OID_SHA384_KDF,
            OID_SHA224_KDF,
            "the key agreement scheme dhSinglePass-stdDH-sha224kdf-scheme (SHA-224) is not "
            "allowed (ECDH with a SHA-2 X9.63 KDF only, RFC 5753).",
        ),
        (
            OID_SHA384_KDF,
            OID_UNKNOWN_KDF,
            "the key agreement scheme 1.3.132.1.11.9 is not allowed (ECDH with a SHA-2 X9.63 "
            "KDF only, RFC 5753).",
        ),
    ],
)
def test_wrong_wrap_or_scheme_is_refused(own_pki, ec_pki, before, after, sentence) -> None:
    dave = ec_pki.dave
    envelope = _envelope_for(dave.encryption.certificate, own_pki.alice.authentication)
    assert envelope.count(before) == 1
    message = _resealed(envelope.replace(before, after), own_pki.alice.authentication)
    detail = _refusal(message, dave, own_pki)
    assert detail.startswith("The key agreement for ")
    assert detail.endswith(f"is refused: {sentence}")


def test_damaged_wrapped_key_is_refused(own_pki, ec_pki) -> None:
    dave = ec_pki.dave
    envelope = _envelope_for(dave.encryption.certificate, own_pki.alice.authentication)
    choice = cms.ContentInfo.load(envelope)["content"]["recipient_infos"][0]
    kari = _KeyAgreeRecipientInfo.load(b"\x30" + choice.dump()[1:])
    wrapped = kari["recipient_encrypted_keys"][0]["encrypted_key"].native
    damaged = wrapped[:-1] + bytes([wrapped[-1] ^ 0x80])
    message = _resealed(envelope.replace(wrapped, damaged), own_pki.alice.authentication)
    assert _refusal(message, dave, own_pki).endswith(
        "the wrapped content key does not unwrap with the agreed key (wrong key or damaged wrap)."
    )


def test_ec_recipient_certificate_without_key_agreement_is_a_trust_issue(own_pki) -> None:
    """An EC encryption certificate asserting keyEncipherment instead of keyAgreement
    (RFC 5480 section 3): the message opens, the recipient is not trusted for it."""
    wrong = ec_provider(
        "83121013336",
        "Frank",
        own_pki.root,
        own_pki.root_key,
        ec.SECP384R1(),
        hashes.SHA384(),
        encryption_usage=key_usage(key_encipherment=True),
    )
    message = _message(own_pki.alice.authentication, [wrong.encryption.certificate])
    result = _open(message, wrong, own_pki)
    assert result.content == CONTENT
    assert result.report.trust.codes("recipient") == {"key_usage"}
    assert "does not allow key agreement." in result.report.trust.issues[0].detail


def test_rsa_signature_algorithm_with_an_ec_key_is_invalid(own_pki, ec_pki) -> None:
    """A SignerInfo that names RSASSA-PSS while the signer's certificate holds an EC
    key: the signature is refused as not allowed, never checked with the wrong scheme."""
    dave = ec_pki.dave.authentication
    _, _, sign = _signing(dave)
    signer = CertificatePair.from_certificate(dave.certificate)
    inner = build_signed_data(
        [CONTENT],
        signer=signer,
        sign=sign,
        signature_algorithm=PSS_SHA256,
        certificates=(),
        signing_time=T_OWN,
        digest_algorithm="sha384",
    )
    envelope = build_enveloped_data(
        inner, [CertificatePair.from_certificate(own_pki.bob.encryption.certificate)], "aes128"
    )
    message = _resealed(b"".join(envelope), dave)
    result = _open(message, own_pki.bob, own_pki)
    assert result.content is None
    details = [i.detail for i in result.report.data.issues if i.where == "inner"]
    assert any("does not fit the signer's EC key" in d for d in details), details


# ---------------------------------------------------------------------------- properties

READERS = ("alice", "bob", "dave", "erin")


def _provider(name: str, own_pki, ec_pki):
    return getattr(own_pki, name, None) or getattr(ec_pki, name)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    recipients=st.sets(st.sampled_from(READERS), min_size=1),
    sender=st.sampled_from(("alice", "dave", "erin")),
    cipher=st.sampled_from(("aes128", "aes256")),
    content=st.binary(max_size=2048),
)
def test_mixed_recipient_sets_round_trip(
    own_pki, ec_pki, recipients, sender, cipher, content
) -> None:
    """seal -> unseal gives the content back to every recipient, RSA or EC, and to no one
    else, whatever the sender's key type."""
    message = seal(
        content,
        sender=_provider(sender, own_pki, ec_pki).authentication,
        recipients=[_provider(r, own_pki, ec_pki).encryption.certificate for r in recipients],
        cipher=cipher,
        signing_time=T_OWN,
    )
    for reader in READERS:
        result = _open(message, _provider(reader, own_pki, ec_pki), own_pki)
        if reader in recipients:
            assert result.content == content, result.report
            assert result.report.data.valid and result.report.trust.trusted
        else:
            assert result.content is None
            assert {i.code for i in result.report.data.issues} == {"no_key"}


@pytest.fixture(scope="module")
def ec_sample(own_pki, ec_pki) -> bytes:
    return _message(
        ec_pki.dave.authentication,
        [ec_pki.erin.encryption.certificate, own_pki.bob.encryption.certificate],
    )


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_ec_messages_never_raise_anything_but_malformed(
    data, ec_sample, own_pki, ec_pki
) -> None:
    message = bytearray(ec_sample)
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(message) - 1))
        message[position] ^= data.draw(st.integers(1, 255))
    outcome = _attempt(bytes(message), ec_pki.erin, own_pki)
    if isinstance(outcome, EhcertError):
        assert outcome.kind is ErrorKind.MALFORMED and outcome.detail.endswith(".")
    elif outcome.content is not None:
        assert outcome.report.data.valid


# ---------------------------------------------------------------------------- the parts


def _kari_with_originator_parameters(ec_pki, parameters) -> tuple[KeyAgreement, bytes]:
    """A key agreement for Dave whose ephemeral key's AlgorithmIdentifier carries
    ``parameters`` (an asn1crypto ECDomainParameters value, or None for absent), and the
    content key it wraps."""
    content_key = bytes(range(16))
    built = build_key_agreement(
        CertificatePair.from_certificate(ec_pki.dave.encryption.certificate), content_key
    )
    info = _KeyAgreeRecipientInfo.load(b"\x30" + built[1:])
    spki = info["originator"].chosen
    algorithm: dict[str, object] = {"algorithm": "ec"}
    if parameters is not None:
        algorithm["parameters"] = parameters
    originator = asn1_cms.OriginatorIdentifierOrKey(
        name="originator_key",
        value=asn1_keys.PublicKeyInfo(
            {
                "algorithm": asn1_keys.PublicKeyAlgorithm(algorithm),
                "public_key": spki["public_key"].native,
            }
        ),
    )
    changed = _KeyAgreeRecipientInfo(
        {
            "version": "v3",
            "originator": originator,
            "key_encryption_algorithm": info["key_encryption_algorithm"],
            "recipient_encrypted_keys": info["recipient_encrypted_keys"],
        }
    )
    return KeyAgreement.load(b"\xa1" + changed.dump()[1:]), content_key


@pytest.mark.parametrize(
    "parameters",
    [
        None,
        asn1_keys.ECDomainParameters(name="implicit_ca", value=core.Null()),
        asn1_keys.ECDomainParameters(name="named", value="secp384r1"),
    ],
    ids=["absent", "NULL", "named P-384"],
)
def test_originator_parameters_absent_null_or_the_recipient_curve(ec_pki, parameters) -> None:
    """RFC 5753 3.1.1: absent, NULL (older writers) or the named curve itself."""
    agreement, content_key = _kari_with_originator_parameters(ec_pki, parameters)
    assert agreement.unwrap(0, ec_pki.dave.encryption.private_key, 16) == content_key


def test_originator_parameters_of_another_curve_are_refused(ec_pki) -> None:
    agreement, _ = _kari_with_originator_parameters(
        ec_pki, asn1_keys.ECDomainParameters(name="named", value="secp256r1")
    )
    with pytest.raises(KeyAgreementRefused, match="is on secp256r1, not on the recipient"):
        agreement.unwrap(0, ec_pki.dave.encryption.private_key, 16)


def test_shared_info_layout_is_rfc_5753_section_7_2() -> None:
    """ECC-CMS-SharedInfo: keyInfo (the wrap algorithm, parameters absent), entityUInfo
    [0] EXPLICIT only with a ukm, suppPubInfo [2] EXPLICIT = KEK length in bits (32-bit
    big-endian); the KEK is X9.63 over it."""
    wrap = bytes.fromhex("300b0609608648016503040105")  # aes128-wrap
    z = bytes(range(48))
    expected = bytes.fromhex("3015") + wrap + bytes.fromhex("a2060404") + (128).to_bytes(4, "big")
    assert _kek(z, hashes.SHA384, wrap, None) == X963KDF(hashes.SHA384(), 16, expected).derive(z)
    ukm = b"\x01" * 8
    with_ukm = (
        bytes.fromhex("3021")
        + wrap
        + bytes.fromhex("a00a0408")
        + ukm
        + bytes.fromhex("a2060404")
        + (128).to_bytes(4, "big")
    )
    assert _kek(z, hashes.SHA384, wrap, ukm) == X963KDF(hashes.SHA384(), 16, with_ukm).derive(z)
