"""The plain-DER KeyTransRecipientInfo reader (RFC 5652 6.2.1) against asn1crypto: on
valid and on mutated RecipientInfos it never accepts what asn1crypto refuses, and what it
accepts reads the same fields; anything it steps aside for is read by asn1crypto."""

from __future__ import annotations

from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcert.client.etee import envelope, seal
from ehcert.client.etee.envelope import KeyTransport, read_plain_key_transport

from .conftest import T_OWN, mutated

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "etee"
Fields = tuple[bytes, bytes, bytes]


def _by_asn1crypto(data: bytes) -> Fields | None:
    """The fields as the asn1crypto path reads them, or None where it refuses or the
    RecipientInfo is not a key transport."""
    try:
        choice = asn1_cms.RecipientInfo.load(data)
        _ = choice.native
        if choice.name != "ktri":
            return None
        info = envelope._asn1_key_transport(choice.chosen)
        return _fields(info)
    except Exception:  # any refusal counts
        return None


def _fields(info: KeyTransport) -> Fields:
    return (bytes(info.rid.dump()), bytes(info.algorithm.dump()), info.encrypted_key)


def _recipient_infos(message: bytes) -> list[bytes]:
    """The RecipientInfos of the EnvelopedData inside a sealed message's outer layer."""
    outer = asn1_cms.ContentInfo.load(message)["content"]
    inner = outer["encap_content_info"]["content"].native
    enveloped = asn1_cms.ContentInfo.load(inner)["content"]
    return [choice.dump() for choice in enveloped["recipient_infos"]]


def _odd_forms() -> list[bytes]:
    """By subjectKeyIdentifier (version 2) and with RSAES-OAEP."""
    found = []
    for rid, algorithm in (
        ({"subject_key_identifier": b"\x07" * 20}, {"algorithm": "rsaes_pkcs1v15"}),
        (
            {
                "issuer_and_serial_number": {
                    "issuer": asn1_cms.Name.build({"common_name": "x"}),
                    "serial_number": 7,
                }
            },
            {"algorithm": "rsaes_oaep", "parameters": {"hash_algorithm": {"algorithm": "sha256"}}},
        ),
    ):
        version = "v2" if "subject_key_identifier" in rid else "v0"
        ktri = asn1_cms.KeyTransRecipientInfo(
            {
                "version": version,
                "rid": asn1_cms.RecipientIdentifier(rid),
                "key_encryption_algorithm": algorithm,
                "encrypted_key": b"\x33" * 256,
            }
        )
        found.append(asn1_cms.RecipientInfo({"ktri": ktri}).dump())
    return found


def _from_fixtures() -> list[bytes]:
    found = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.is_file():
            try:
                found += _recipient_infos(path.read_bytes())
            except Exception:  # not a sealed message
                continue
    return found


@pytest.fixture(scope="module")
def samples(own_pki) -> list[bytes]:
    message = seal(
        b"x",
        sender=own_pki.alice.authentication,
        recipients=[own_pki.bob.encryption.certificate, own_pki.carol.encryption.certificate],
        signing_time=T_OWN,
    )
    written = _recipient_infos(message)
    for data in written:  # what ehcert writes is always read in plain DER
        assert read_plain_key_transport(data) is not None
    found = [*written, *_odd_forms(), *_from_fixtures()]
    assert len(found) > 4
    return found


def _check(data: bytes) -> None:
    plain = read_plain_key_transport(data)
    expected = _by_asn1crypto(data)
    if expected is None:
        assert plain is None
    elif plain is not None:
        assert _fields(plain) == expected


def test_valid_recipient_infos_read_the_same(samples) -> None:
    for data in samples:
        _check(data)
        if data[0] == 0x30:
            assert read_plain_key_transport(data) is not None


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.data(),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=3),
    st.sampled_from(["replace", "insert", "delete", "truncate"]),
)
def test_mutated_recipient_infos_never_read_differently(samples, data, edits, how) -> None:
    _check(mutated(data.draw(st.sampled_from(samples)), edits, how))


@settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data(), st.lists(st.integers(0, 120), min_size=1, max_size=2))
def test_header_mutations_never_read_differently(samples, data, places) -> None:
    """Damage in the first bytes: the tags and lengths, the version, the rid's name."""
    mutated = bytearray(data.draw(st.sampled_from(samples)))
    for where in places:
        mutated[where % len(mutated)] = data.draw(st.integers(0, 255))
    _check(bytes(mutated))


@pytest.mark.parametrize(
    "data",
    [
        b"\x30\x80\x00\x00",  # indefinite length
        b"\x30\x00",  # no fields
        b"\x30\x03\x02\x01\x00",  # a version alone
    ],
)
def test_unusual_encodings_are_left_to_asn1crypto(data) -> None:
    assert read_plain_key_transport(data) is None
