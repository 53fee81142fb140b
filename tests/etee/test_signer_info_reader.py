"""The plain-DER SignerInfo reader (RFC 5652 5.3) against asn1crypto: on valid and on
mutated SignerInfos it never accepts what asn1crypto refuses, and what it accepts reads
the same fields; anything it steps aside for is read by asn1crypto as before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from asn1crypto import cms as asn1_cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcert.client.etee import cms
from ehcert.pki import cms_signature
from ehcert.pki.cms_signature import PlainSignerInfo, read_plain_signer_info

from .conftest import T_OWN, mutated

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "etee"
Fields = tuple[bytes, str, str, bytes | None, bytes, bytes | None]


def _by_asn1crypto(data: bytes) -> Fields | None:
    """The fields as the asn1crypto path reads them, or None where it refuses."""
    try:
        info = cms._asn1_signer_info(data)
        algorithm = info["signature_algorithm"]
        name = algorithm["algorithm"].native
        pss = bytes(algorithm["parameters"].dump()) if name == "rsassa_pss" else None
        attributes = info["signed_attrs"]
        signed = None
        if not isinstance(attributes, cms_signature.core.Void) and attributes.contents is not None:
            signed = bytes(cms_signature._AnyValues(contents=attributes.contents).dump())
        return (
            bytes(info["sid"].dump()),
            info["digest_algorithm"]["algorithm"].native,
            name,
            pss,
            info["signature"].native,
            signed,
        )
    except Exception:  # any refusal counts
        return None


def _fields(plain: PlainSignerInfo) -> Fields:
    return (
        bytes(plain.sid.dump()),
        plain.digest_algorithm,
        plain.signature_algorithm,
        plain.pss_parameters,
        plain.signature,
        plain.signed_attributes,
    )


def _written(own_pki, ec_pki) -> list[bytes]:
    """SignerInfos as ehcert writes them: RSASSA-PSS, PKCS#1 v1.5 and ECDSA."""
    found = []
    for entry, algorithm, digest in (
        (own_pki.alice.authentication, cms.PSS_SHA256, "sha256"),
        (own_pki.bob.authentication, cms.RSA_PKCS1, "sha256"),
        (ec_pki.dave.authentication, cms.ECDSA_SHA384, "sha384"),
    ):
        found.append(
            cms.signer_info(
                cms.CertificatePair.from_certificate(entry.certificate),
                digest=bytes(48 if digest == "sha384" else 32),
                digest_algorithm=digest,
                sign=lambda message: b"\x5a" * 256,
                signature_algorithm=algorithm,
                signing_time=T_OWN,
            )
        )
    return found


def _odd_forms() -> list[bytes]:
    """By subjectKeyIdentifier, without signed attributes, with unsigned ones."""
    base = {
        "version": "v3",
        "sid": asn1_cms.SignerIdentifier({"subject_key_identifier": b"\x01" * 20}),
        "digest_algorithm": {"algorithm": "sha256"},
        "signature_algorithm": {"algorithm": "sha256_rsa"},
        "signature": b"\x00" * 8,
    }
    unsigned = {
        **base,
        "unsigned_attrs": [
            {
                "type": "signing_time",
                "values": [asn1_cms.Time({"utc_time": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})],
            }
        ],
    }
    return [asn1_cms.SignerInfo(base).dump(), asn1_cms.SignerInfo(unsigned).dump()]


def _from_fixtures() -> list[bytes]:
    found = []
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file():
            continue
        try:
            info = asn1_cms.ContentInfo.load(path.read_bytes())
            if info["content_type"].native != "signed_data":
                continue
            found += [item.dump() for item in info["content"]["signer_infos"]]
        except Exception:  # not a SignedData
            continue
    return found


@pytest.fixture(scope="module")
def samples(own_pki, ec_pki) -> list[bytes]:
    written = _written(own_pki, ec_pki)
    for data in written:  # what ehcert writes is always read in plain DER
        assert read_plain_signer_info(data) is not None
    found = [*written, *_odd_forms(), *_from_fixtures()]
    assert len(found) > 8
    return found


def _check(data: bytes) -> None:
    plain = read_plain_signer_info(data)
    expected = _by_asn1crypto(data)
    if expected is None:
        assert plain is None
    elif plain is not None:
        assert _fields(plain) == expected


def test_valid_signer_infos_read_the_same(samples) -> None:
    for data in samples:
        _check(data)
        assert _by_asn1crypto(data) is not None


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.data(),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=3),
    st.sampled_from(["replace", "insert", "delete", "truncate"]),
)
def test_mutated_signer_infos_never_read_differently(samples, data, edits, how) -> None:
    _check(mutated(data.draw(st.sampled_from(samples)), edits, how))


@settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data(), st.lists(st.integers(0, 120), min_size=1, max_size=2))
def test_header_mutations_never_read_differently(samples, data, places) -> None:
    """Damage in the first bytes, where the tags and lengths of the fields and the sid's
    name lie."""
    mutated = bytearray(data.draw(st.sampled_from(samples)))
    for where in places:
        mutated[where % len(mutated)] = data.draw(st.integers(0, 255))
    _check(bytes(mutated))


@pytest.mark.parametrize(
    "data",
    [
        b"\x30\x80\x00\x00",  # indefinite length
        b"\x30\x00",  # no fields
        b"\x30\x03\x02\x01\x01",  # a version alone
    ],
)
def test_unusual_encodings_are_left_to_asn1crypto(data) -> None:
    assert read_plain_signer_info(data) is None
