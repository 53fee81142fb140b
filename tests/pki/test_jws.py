"""JWS proof of identity: round trips, every refusal with its kind, and fuzzed input."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.pki.jws import VerifiedJws, b64url_encode, create_jws, verify_jws

URL = "https://platform.example.test/api/v1/certificates"
NONCE = "oFvnlFP1wIhRlYS2jTaXbA"
PAYLOAD = b'{"csr":"MIIB...","profile":"ehealth-authentication"}'


def _signer(key: rsa.RSAPrivateKey, alg: str):
    if alg == "RS256":
        return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
    return lambda data: key.sign(data, pss, hashes.SHA256())


@pytest.fixture(scope="module")
def eid_chain(eid_pki) -> list[x509.Certificate]:
    return [eid_pki.auth, eid_pki.citizen_ca]


@pytest.fixture(scope="module")
def good_jws(keys, eid_chain) -> dict[str, str]:
    return create_jws(
        PAYLOAD, url=URL, nonce=NONCE, chain=eid_chain, sign=_signer(keys.other, "RS256")
    )


def _self_signed(key, common_name: str) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    moment = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(moment)
        .not_valid_after(moment + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def _forge(header: dict[str, object], payload: bytes, sign) -> dict[str, str]:
    """A JWS with any header at all, signed over the usual signing input."""
    protected = b64url_encode(json.dumps(header).encode())
    encoded_payload = b64url_encode(payload)
    signature = sign(f"{protected}.{encoded_payload}".encode())
    return {
        "protected": protected,
        "payload": encoded_payload,
        "signature": b64url_encode(signature),
    }


def _x5c(chain) -> list[str]:
    return [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]


def _header(chain, **changes) -> dict[str, object]:
    header: dict[str, object] = {"alg": "RS256", "nonce": NONCE, "url": URL, "x5c": _x5c(chain)}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not None}


def _refusal(kind: ErrorKind, document, url: str = URL) -> str:
    with pytest.raises(EhcertError) as caught:
        verify_jws(document, expected_url=url)
    assert caught.value.kind is kind, caught.value.detail
    return caught.value.detail


# -- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_round_trip(keys, eid_chain, alg):
    document = create_jws(
        PAYLOAD, url=URL, nonce=NONCE, chain=eid_chain, sign=_signer(keys.other, alg), alg=alg
    )
    assert set(document) == {"protected", "payload", "signature"}
    for encoded in (document, json.dumps(document).encode()):
        verified = verify_jws(encoded, expected_url=URL)
        assert verified == VerifiedJws(
            payload=PAYLOAD,
            url=URL,
            nonce=NONCE,
            alg=alg,
            chain=tuple(eid_chain),
            extra_header={},
        )


def test_protected_header_content(good_jws, eid_chain):
    header = json.loads(base64.urlsafe_b64decode(good_jws["protected"] + "=="))
    assert header == {"alg": "RS256", "nonce": NONCE, "url": URL, "x5c": _x5c(eid_chain)}


def test_empty_payload_is_allowed(keys, eid_chain):
    document = create_jws(
        b"", url=URL, nonce=NONCE, chain=eid_chain, sign=_signer(keys.other, "RS256")
    )
    assert verify_jws(document, expected_url=URL).payload == b""


def test_other_header_members_are_returned(keys, eid_chain):
    document = _forge(_header(eid_chain, typ="ehcert+jws"), PAYLOAD, _signer(keys.other, "RS256"))
    assert dict(verify_jws(document, expected_url=URL).extra_header) == {"typ": "ehcert+jws"}


def test_create_refuses_a_signature_by_another_key(keys, eid_chain):
    with pytest.raises(EhcertError) as caught:
        create_jws(PAYLOAD, url=URL, nonce=NONCE, chain=eid_chain, sign=_signer(keys.leaf, "RS256"))
    assert caught.value.kind is ErrorKind.UNAUTHORIZED


def test_create_refuses_pkcs1_signature_announced_as_ps256(keys, eid_chain):
    with pytest.raises(EhcertError, match="PS256 signature just made does not verify"):
        create_jws(
            PAYLOAD,
            url=URL,
            nonce=NONCE,
            chain=eid_chain,
            sign=_signer(keys.other, "RS256"),
            alg="PS256",
        )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"nonce": "not base64url!"}, ValueError),
        ({"url": ""}, ValueError),
        ({"alg": "HS256"}, ValueError),
        ({"chain": []}, TypeError),
        ({"payload": "text"}, TypeError),
    ],
)
def test_create_refuses_bad_arguments(keys, eid_chain, changes, error):
    arguments = {
        "payload": PAYLOAD,
        "url": URL,
        "nonce": NONCE,
        "chain": eid_chain,
        "sign": _signer(keys.other, "RS256"),
    }
    arguments.update(changes)
    payload = arguments.pop("payload")
    with pytest.raises(error):
        create_jws(payload, **arguments)  # type: ignore[arg-type]


# -- signature and binding --------------------------------------------------------------


def test_tampered_payload(good_jws):
    document = {**good_jws, "payload": b64url_encode(b'{"csr":"other"}')}
    assert "signature does not verify" in _refusal(ErrorKind.UNAUTHORIZED, document)


def test_tampered_header(good_jws, eid_chain):
    other_nonce = json.dumps(_header(eid_chain, nonce="b3RoZXI")).encode()
    document = {**good_jws, "protected": b64url_encode(other_nonce)}
    _refusal(ErrorKind.UNAUTHORIZED, document)


def test_tampered_signature(good_jws):
    signature = bytearray(base64.urlsafe_b64decode(good_jws["signature"] + "=="))
    signature[10] ^= 0x01
    _refusal(ErrorKind.UNAUTHORIZED, {**good_jws, "signature": b64url_encode(bytes(signature))})


def test_wrong_url(good_jws):
    detail = _refusal(
        ErrorKind.UNAUTHORIZED, good_jws, url="https://platform.example.test/api/v1/revocations"
    )
    assert detail == (
        f"The JWS was signed for the URL {URL!r}, not for this request's URL "
        "'https://platform.example.test/api/v1/revocations'."
    )


def test_signature_by_a_key_other_than_the_x5c_leaf(keys, eid_chain):
    document = _forge(_header(eid_chain), PAYLOAD, _signer(keys.leaf, "RS256"))
    _refusal(ErrorKind.UNAUTHORIZED, document)


def test_ps256_header_over_pkcs1_signature(keys, eid_chain):
    document = _forge(_header(eid_chain, alg="PS256"), PAYLOAD, _signer(keys.other, "RS256"))
    _refusal(ErrorKind.UNAUTHORIZED, document)


def test_ps256_salt_must_be_as_long_as_the_hash(keys, eid_chain):
    longest_salt = padding.PSS(
        mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH
    )
    document = _forge(
        _header(eid_chain, alg="PS256"),
        PAYLOAD,
        lambda data: keys.other.sign(data, longest_salt, hashes.SHA256()),
    )
    _refusal(ErrorKind.UNAUTHORIZED, document)


# -- algorithms and keys ----------------------------------------------------------------


def test_alg_none(eid_chain):
    document = _forge(_header(eid_chain, alg="none"), PAYLOAD, lambda data: b"")
    assert "unsigned (alg 'none')" in _refusal(ErrorKind.UNAUTHORIZED, document)


def test_hs256_with_the_certificate_as_secret(eid_chain):
    # The classic confusion attack: an HMAC keyed with public material.
    secret = eid_chain[0].public_bytes(serialization.Encoding.DER)
    document = _forge(
        _header(eid_chain, alg="HS256"),
        PAYLOAD,
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    assert "shared-secret algorithm HS256" in _refusal(ErrorKind.UNAUTHORIZED, document)


def test_unknown_alg(keys, eid_chain):
    document = _forge(_header(eid_chain, alg="RS512"), PAYLOAD, _signer(keys.other, "RS256"))
    assert "'RS512' is not accepted" in _refusal(ErrorKind.UNAUTHORIZED, document)


def test_small_key(keys):
    chain = [_self_signed(keys.rsa_1024, "Small")]
    document = _forge(_header(chain), PAYLOAD, _signer(keys.rsa_1024, "RS256"))
    detail = _refusal(ErrorKind.BAD_KEY, document)
    assert detail == (
        "The key of the first x5c certificate is RSA 1024 bits; the minimum is 2048 bits."
    )


def test_ec_key_under_an_rsa_algorithm(keys):
    chain = [_self_signed(keys.ec_p256, "EC")]
    document = _forge(_header(chain), PAYLOAD, lambda data: b"\x00" * 64)
    assert _refusal(ErrorKind.BAD_KEY, document) == (
        "The JWS algorithm RS256 needs an RSA key, but the first x5c certificate holds "
        "another; sign with ES256."
    )


# -- header rules -----------------------------------------------------------------------


def test_missing_x5c(keys, eid_chain):
    document = _forge(_header(eid_chain, x5c=None), PAYLOAD, _signer(keys.other, "RS256"))
    assert "has no 'x5c'" in _refusal(ErrorKind.MALFORMED, document)


def test_jwk_together_with_x5c(keys, eid_chain):
    public = keys.other.public_key().public_numbers()
    jwk = {"kty": "RSA", "n": b64url_encode(public.n.to_bytes(256, "big")), "e": "AQAB"}
    document = _forge(_header(eid_chain, jwk=jwk), PAYLOAD, _signer(keys.other, "RS256"))
    assert "taken only from 'x5c'" in _refusal(ErrorKind.MALFORMED, document)


def test_crit(keys, eid_chain):
    document = _forge(
        _header(eid_chain, crit=["exp"], exp=1), PAYLOAD, _signer(keys.other, "RS256")
    )
    assert "'crit'" in _refusal(ErrorKind.MALFORMED, document)


@pytest.mark.parametrize(
    "x5c",
    [
        [],
        "MIIB",
        [42],
        ["not base64 at all"],
        ["TUlJQg"],  # unpadded standard base64
        [base64.b64encode(b"not a certificate").decode()],
    ],
)
def test_bad_x5c(keys, eid_chain, x5c):
    document = _forge(_header(eid_chain, x5c=x5c), PAYLOAD, _signer(keys.other, "RS256"))
    _refusal(ErrorKind.MALFORMED, document)


def test_x5c_in_base64url_is_refused(keys, eid_chain):
    urlsafe = [
        base64.urlsafe_b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
        for c in eid_chain
    ]
    if urlsafe == _x5c(eid_chain):  # pragma: no cover - DER without '+' or '/' is unlikely
        pytest.skip("this chain encodes identically in both alphabets")
    document = _forge(_header(eid_chain, x5c=urlsafe), PAYLOAD, _signer(keys.other, "RS256"))
    _refusal(ErrorKind.MALFORMED, document)


def test_bad_nonce_syntax(keys, eid_chain):
    document = _forge(_header(eid_chain, nonce="a b"), PAYLOAD, _signer(keys.other, "RS256"))
    assert "'nonce' is not base64url" in _refusal(ErrorKind.MALFORMED, document)


def test_header_not_an_object(keys):
    document = {"protected": b64url_encode(b"[1,2]"), "payload": "", "signature": ""}
    assert "not a JSON object" in _refusal(ErrorKind.MALFORMED, document)


def test_duplicate_header_member(keys, eid_chain):
    raw = json.dumps(_header(eid_chain))[:-1] + ', "url": "https://elsewhere.example.test"}'
    document = {"protected": b64url_encode(raw.encode()), "payload": "", "signature": ""}
    assert "names the member url twice" in _refusal(ErrorKind.MALFORMED, document)


# -- serialization rules ----------------------------------------------------------------


def test_padded_base64(good_jws):
    padded = good_jws["payload"] + "=" * (-len(good_jws["payload"]) % 4 or 4)
    detail = _refusal(ErrorKind.MALFORMED, {**good_jws, "payload": padded})
    assert detail == "The JWS member 'payload' is not base64url without padding."


def test_standard_alphabet_refused(good_jws):
    signature = good_jws["signature"]
    assert "-" in signature or "_" in signature  # a 256-byte signature virtually always has one
    swapped = signature.replace("-", "+").replace("_", "/")
    _refusal(ErrorKind.MALFORMED, {**good_jws, "signature": swapped})


def test_extra_member(good_jws):
    detail = _refusal(ErrorKind.MALFORMED, {**good_jws, "header": {"kid": "x"}})
    assert "has the member 'header'" in detail


@pytest.mark.parametrize("member", ["protected", "payload", "signature"])
def test_missing_member(good_jws, member):
    document = {k: v for k, v in good_jws.items() if k != member}
    _refusal(ErrorKind.MALFORMED, document)


def test_compact_serialization_is_refused(good_jws):
    compact = ".".join(good_jws[m] for m in ("protected", "payload", "signature"))
    _refusal(ErrorKind.MALFORMED, compact.encode())


def test_duplicate_top_level_member(good_jws):
    raw = json.dumps(good_jws)[:-1] + f', "payload": "{b64url_encode(b"x")}"}}'
    _refusal(ErrorKind.MALFORMED, raw.encode())


def test_oversized_document():
    _refusal(ErrorKind.PAYLOAD_TOO_LARGE, b" " * (256 * 1024 + 1))


# -- fuzzing ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_ehcert_errors(data):
    with pytest.raises(EhcertError):
        verify_jws(data, expected_url=URL)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["protected", "payload", "signature", "x"]), json_values))
def test_arbitrary_json_documents_raise_only_ehcert_errors(document):
    with pytest.raises(EhcertError):
        verify_jws(json.dumps(document).encode(), expected_url=URL)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["alg", "nonce", "url", "x5c", "crit", "jwk", "typ"]), json_values
    ),
    st.binary(max_size=64),
    st.binary(max_size=300),
)
def test_arbitrary_protected_headers_raise_only_ehcert_errors(header, payload, signature):
    document = {
        "protected": b64url_encode(json.dumps(header).encode()),
        "payload": b64url_encode(payload),
        "signature": b64url_encode(signature),
    }
    with pytest.raises(EhcertError):
        verify_jws(document, expected_url=URL)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_valid_jws_never_verifies_differently(good_jws, data):
    raw = bytearray(json.dumps(good_jws).encode())
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255))
    try:
        verified = verify_jws(bytes(raw), expected_url=URL)
    except EhcertError:
        return
    assert verified.payload == PAYLOAD  # only a no-op mutation may still verify
    assert verified.url == URL
    assert verified.nonce == NONCE
