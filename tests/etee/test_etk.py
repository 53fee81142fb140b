"""ETK parsing and verification against the interop fixtures (EXPECTED.md) and our own.

Times: the 2009/2010-era tokens are judged at 2012-01-01 (inside the old test CA's life),
the 2014-era ones at 2024-06-01; "expired" cases use a moment after the expiry.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.x509 import load_der_x509_certificate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.etk import EtkTrust, EtkVerdict, parse_etk, verify_etk
from ehcert.pki.etk_build import build_etk
from ehcert.pki.revocation import RevocationStatus, crl_revocation_checker
from ehcert.pki.signer import PrivateKeySigner

from .conftest import FIXTURES, T_OWN, OwnPki

OLD = dt.datetime(2012, 1, 1, tzinfo=dt.UTC)
NEW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)

# file, moment, valid, trust, codes that must be reported
CASES = [
    ("bob/bobs_public_key.etk", NEW, True, EtkTrust.TRUSTED, set()),
    ("alice/alices_public_key.etk", NEW, True, EtkTrust.TRUSTED, set()),
    ("etk/Bob2_public_key.etk", NEW, True, EtkTrust.TRUSTED, set()),
    ("etk/Bob3_public_key.etk", NEW, True, EtkTrust.TRUSTED, set()),
    ("etk/valid_but_scrambledDN.etk", OLD, True, EtkTrust.UNTRUSTED, {"subject_mismatch"}),
    (
        "etk/auth_and_encr_not_same_DN.etk",
        OLD,
        True,
        EtkTrust.UNTRUSTED,
        {"subject_mismatch", "authentication_basic_constraints"},
    ),
    ("etk/expired_encr.etk", NEW, False, EtkTrust.TRUSTED, {"encryption_expired"}),
    ("etk/expired_auth.etk", OLD, True, EtkTrust.UNTRUSTED, {"authentication_expired"}),
    ("etk/not_yet_auth.etk", OLD, True, EtkTrust.UNTRUSTED, {"authentication_not_yet_valid"}),
    ("etk/invalid_encrkey_usage.etk", OLD, False, EtkTrust.UNTRUSTED, {"encryption_key_usage"}),
    ("etk/invalid_authkey_usage.etk", NEW, True, EtkTrust.UNTRUSTED, {"authentication_key_usage"}),
    ("etk/invalid_cert_chain.etk", OLD, True, EtkTrust.UNTRUSTED, {"authentication_chain"}),
    (
        "etk/invalid_key_algorithm.etk",
        OLD,
        True,
        EtkTrust.UNTRUSTED,
        {"authentication_key_algorithm"},
    ),
    (
        "etk/invalid_key_size.etk",
        OLD,
        False,
        EtkTrust.UNTRUSTED,
        {"encryption_key_size", "authentication_key_size"},
    ),
]


@pytest.mark.parametrize(
    ("name", "at", "valid", "trust", "codes"), CASES, ids=[c[0] for c in CASES]
)
def test_fixture_etk_verdicts(name, at, valid, trust, codes, fixture_anchors) -> None:
    etk = parse_etk((FIXTURES / name).read_bytes())
    verdict = verify_etk(etk, anchors=fixture_anchors, at=at, allow_sha1_signatures=True)
    assert verdict.valid is valid, verdict
    assert verdict.trust is trust, verdict
    assert codes <= verdict.codes, verdict
    if valid and trust is EtkTrust.TRUSTED:
        assert verdict.usable and verdict.reason() is None
    else:
        assert not verdict.usable and verdict.reason()


def test_valid_etk_without_anchor_has_unknown_issuer_trust() -> None:
    etk = parse_etk((FIXTURES / "bob/bobs_public_key.etk").read_bytes())
    verdict = verify_etk(etk, anchors=[], at=NEW, allow_sha1_signatures=True)
    assert verdict.valid and verdict.trust is EtkTrust.UNKNOWN
    assert not verdict.usable and "trusted anchor" in (verdict.reason() or "")


def test_expired_encryption_is_reported_today_too(fixture_anchors) -> None:
    # EXPECTED: the encryption certificate expired (2014-03-18): any later moment.
    etk = parse_etk((FIXTURES / "etk/expired_encr.etk").read_bytes())
    verdict = verify_etk(
        etk,
        anchors=fixture_anchors,
        at=dt.datetime(2014, 3, 20, tzinfo=dt.UTC),
        allow_sha1_signatures=True,
    )
    assert "encryption_expired" in verdict.codes


def test_kgss_structure_valid_and_trusted_under_its_own_root() -> None:
    etk = parse_etk((FIXTURES / "etk/kgss.etk").read_bytes())
    at = dt.datetime(2013, 1, 1, tzinfo=dt.UTC)
    unknown = verify_etk(etk, anchors=[], at=at, allow_sha1_signatures=True)
    assert unknown.valid and unknown.trust is EtkTrust.UNKNOWN
    root = next(c for c in etk.chain if c.subject == c.issuer)
    trusted = verify_etk(etk, anchors=[root], at=at, allow_sha1_signatures=True)
    assert trusted.valid and trusted.trust is EtkTrust.TRUSTED, trusted


def test_sha1_depot_signature_refused_by_default(fixture_anchors) -> None:
    etk = parse_etk((FIXTURES / "etk/expired_auth.etk").read_bytes())
    verdict = verify_etk(etk, anchors=fixture_anchors, at=OLD)
    assert "etk_signature" in verdict.codes and not verdict.valid


@pytest.mark.parametrize(
    "data",
    [
        (FIXTURES / "etk/incorrectly_encoded.etk").read_bytes(),
        b"",
        b"\x30\x03\x02\x01\x01",
        b"not an etk",
    ],
)
def test_malformed_etk_is_rejected_with_a_sentence(data) -> None:
    with pytest.raises(EhcertError) as caught:
        parse_etk(data)
    assert caught.value.kind is ErrorKind.MALFORMED
    assert caught.value.detail.startswith("The ETK cannot be read:")


def test_parse_finds_authentication_certificate_and_depot(fixture_anchors) -> None:
    etk = parse_etk((FIXTURES / "alice/alices_public_key.etk").read_bytes())
    assert etk.authentication_certificate.subject == etk.encryption_certificate.subject
    assert etk.depot_certificate is not None
    assert "ETK-RA" in etk.depot_certificate.subject.rfc4514_string()
    assert etk.authentication_certificate not in etk.chain
    assert len(etk.fingerprint_sha256) == 64


# ---------------------------------------------------------------------------- own ETKs


def _own_etk(pki: OwnPki, provider_name: str = "bob") -> bytes:
    provider = getattr(pki, provider_name)
    return build_etk(
        provider.encryption.certificate,
        [provider.authentication.certificate, pki.root],
        pki.depot.certificate,
        PrivateKeySigner(pki.depot.private_key),
        T_OWN,
    )


def test_built_etk_round_trips_and_is_trusted(own_pki) -> None:
    data = _own_etk(own_pki)
    etk = parse_etk(data)
    assert etk.encryption_certificate == own_pki.bob.encryption.certificate
    assert etk.authentication_certificate == own_pki.bob.authentication.certificate
    assert etk.depot_certificate == own_pki.depot.certificate
    assert etk.raw == data
    verdict = verify_etk(etk, anchors=[own_pki.root], at=T_OWN)
    assert verdict.usable, verdict


def test_built_etk_is_der_with_sha256_and_signed_attributes(own_pki) -> None:
    from asn1crypto import cms

    info = cms.ContentInfo.load(_own_etk(own_pki), strict=True)
    assert info.dump(force=True) == info.dump()
    signer = info["content"]["signer_infos"][0]
    assert signer["digest_algorithm"]["algorithm"].native == "sha256"
    assert {a["type"].native for a in signer["signed_attrs"]} == {
        "content_type",
        "signing_time",
        "message_digest",
    }
    assert signer["sid"].name == "issuer_and_serial_number"
    content = info["content"]["encap_content_info"]["content"].native
    assert load_der_x509_certificate(content) == own_pki.bob.encryption.certificate


def test_tampered_etk_signature_is_invalid(own_pki) -> None:
    data = bytearray(_own_etk(own_pki))
    data[-5] ^= 0x01  # inside the signature value, the last field
    verdict = verify_etk(parse_etk(bytes(data)), anchors=[own_pki.root], at=T_OWN)
    assert "etk_signature" in verdict.codes and not verdict.valid


def test_revoked_authentication_certificate_is_untrusted(own_pki) -> None:
    etk = parse_etk(_own_etk(own_pki))
    revoked_at = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    verdict = verify_etk(
        etk,
        anchors=[own_pki.root],
        at=T_OWN,
        revocation=lambda cert, issuer: RevocationStatus.revoked(None, revoked_at),
    )
    assert verdict.trust is EtkTrust.UNTRUSTED and "authentication_revoked" in verdict.codes
    unknown = verify_etk(
        etk, anchors=[own_pki.root], at=T_OWN, revocation=crl_revocation_checker([])
    )
    assert "authentication_revocation_unknown" in unknown.codes


def test_expired_own_etk(own_pki) -> None:
    etk = parse_etk(_own_etk(own_pki))
    verdict = verify_etk(etk, anchors=[own_pki.root], at=dt.datetime(2029, 6, 1, tzinfo=dt.UTC))
    assert {"encryption_expired", "authentication_expired"} <= verdict.codes


def test_build_refuses_a_signer_that_does_not_match_the_depot_certificate(own_pki) -> None:
    with pytest.raises(ValueError, match="depot_signer"):
        build_etk(
            own_pki.bob.encryption.certificate,
            [own_pki.bob.authentication.certificate],
            own_pki.depot.certificate,
            PrivateKeySigner(own_pki.alice.authentication.private_key),
            T_OWN,
        )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_etk_is_malformed_or_judged(data, own_pki) -> None:
    token = bytearray(_own_etk(own_pki))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(token) - 1))
        token[position] ^= data.draw(st.integers(1, 255))
    try:
        etk = parse_etk(bytes(token))
    except EhcertError as error:
        outcome: object = error
    else:
        outcome = verify_etk(etk, anchors=[own_pki.root], at=T_OWN)
    if isinstance(outcome, EhcertError):
        assert outcome.kind is ErrorKind.MALFORMED
    else:
        assert isinstance(outcome, EtkVerdict)


def test_client_etee_loads_no_server_module() -> None:
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys\nimport ehcert.client.etee, ehcert.pki.etk\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
    )
    server = (
        "ehcert.store",
        "ehcert.registry",
        "ehcert.ra",
        "ehcert.ca",
        "ehcert.api",
        "ehcert.platform",
        "sqlalchemy",
        "fastapi",
    )
    assert [m for m in loaded if any(m == s or m.startswith(s + ".") for s in server)] == []
