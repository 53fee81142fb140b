"""Proof of identity as a JWS, in the manner of ACME (RFC 8555 section 6.2).

A requester proves who they are by signing the request body with a key whose certificate
the platform trusts (an eID card, or a current eHealth certificate). The body travels as a
JWS in flattened JSON serialization (RFC 7515 section 7.2.2)::

    {"protected": b64u(header), "payload": b64u(body), "signature": b64u(sig)}

and the protected header carries ``alg`` (RS256 or PS256 for an RSA key, RFC 7518 sections
3.3 and 3.5; ES256 or ES384 for an EC key on P-256 or P-384, section 3.4), ``nonce``
(a fresh server nonce, against replay; RFC 8555 section 6.5), ``url``
(the exact request URL, so a signature for one endpoint cannot be replayed at another;
RFC 8555 section 6.4) and ``x5c`` (RFC 7515 section 4.1.6: the signer certificate in
standard base64 DER, then its chain).

Verification is deliberately strict; anything unusual is refused, not interpreted:
exactly the three members; base64url without padding, canonical; the header a JSON
object without duplicate names; ``crit`` refused (no extension is understood); the key
comes only from ``x5c``, so ``jwk``, ``kid``, ``jku`` and ``x5u`` are refused; only
RS256, PS256, ES256 and ES384 (never ``none`` nor HMAC), each with the key it is made for:
RSA keys of 2048 bits or more for RS256/PS256; ES256 only with a P-256 key and ES384 only
with a P-384 key (RFC 7518 section 3.4: the curve and hash are one choice). Belgian eID
cards from applet 1.8 on hold ECDSA P-384 keys and sign ES384. An ECDSA signature is
``r || s``, each exactly as long as the curve order (48 bytes for P-384), never DER
(RFC 7518 section 3.4); any other length is refused.

What this module proves is possession of the x5c leaf's key for this URL. Whether that
certificate is trusted is :func:`ehcert.pki.pathval.validate_path`'s job (pass it
``VerifiedJws.chain``); whether the nonce is fresh is the nonce store's.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ehcert.core.errors import EhcertError, ErrorKind
from ehcert.core.keys import refuse
from ehcert.pki.public_keys import PublicKey, certificate_spki, ecdsa_der, spki_problem

JwsAlgorithm = Literal["RS256", "PS256", "ES256", "ES384"]
_EC_ALGORITHMS: dict[str, str] = {"ES256": "secp256r1", "ES384": "secp384r1"}
_EC_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384]] = {
    "ES256": hashes.SHA256,
    "ES384": hashes.SHA384,
}
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(get_args(JwsAlgorithm))
MAX_DOCUMENT_SIZE = 256 * 1024
"""Largest JWS accepted, in bytes or characters: a CSR plus an eID chain is ~10 KiB."""
MAX_CHAIN_LENGTH = 8

_MEMBERS = ("protected", "payload", "signature")
_FOREIGN_KEY_PARAMETERS = ("jwk", "kid", "jku", "x5u")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
_ALLOWED = "RS256, PS256, ES256 or ES384"


@dataclass(frozen=True, slots=True)
class VerifiedJws:
    """A JWS whose signature verified with the key of ``chain[0]`` for ``url``."""

    payload: bytes
    url: str
    nonce: str
    alg: str
    chain: tuple[x509.Certificate, ...]
    extra_header: Mapping[str, object]  # header members other than alg, nonce, url, x5c


def _malformed(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.MALFORMED, detail)


def _unauthorized(detail: str) -> EhcertError:
    return EhcertError(ErrorKind.UNAUTHORIZED, detail)


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(value: str, member: str) -> bytes:
    """Strict base64url: URL-safe alphabet only, no padding, canonical trailing bits."""
    if not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise _malformed(f"The JWS member {member!r} is not base64url without padding.")
    decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if b64url_encode(decoded) != value:
        raise _malformed(f"The JWS member {member!r} is not canonical base64url.")
    return decoded


class _DuplicateName(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, value in pairs:
        if name in result:
            raise _DuplicateName(name)
        result[name] = value
    return result


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _json_object(data: bytes, what: str) -> dict[str, object]:
    """Parse UTF-8 JSON that must be an object with unique member names (RFC 7515 sec. 4)."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except _DuplicateName as duplicate:
        raise _malformed(f"The {what} names the member {duplicate} twice.") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _malformed(f"The {what} is not valid UTF-8 JSON.") from None
    if not isinstance(value, dict):
        raise _malformed(f"The {what} is not a JSON object.")
    return value


def _signing_input(protected: str, payload: str) -> bytes:
    return f"{protected}.{payload}".encode("ascii")


def algorithm_for(key: object) -> JwsAlgorithm:
    """The JWS algorithm a key signs with by default: RS256 for RSA (the eHealth usage),
    ES256 for P-256 and ES384 for P-384 (RFC 7518 section 3.4). ValueError otherwise."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        if key.curve.name == "secp256r1":
            return "ES256"
        if key.curve.name == "secp384r1":
            return "ES384"
    raise ValueError("only RSA, P-256 and P-384 keys sign proofs of identity")


def _fits(key: PublicKey, alg: str) -> bool:
    """RS256/PS256 take an RSA key; ES256 a P-256 key, ES384 a P-384 key."""
    if alg in _EC_ALGORITHMS:
        return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _EC_ALGORITHMS[alg]
    return isinstance(key, rsa.RSAPublicKey)


def _verify_ecdsa(
    key: ec.EllipticCurvePublicKey, alg: str, signature: bytes, signing_input: bytes
) -> bool:
    """``r || s`` of exactly twice the curve order's length (RFC 7518 section 3.4)."""
    if len(signature) != 2 * ((key.curve.key_size + 7) // 8):
        return False
    try:
        key.verify(ecdsa_der(signature), signing_input, ec.ECDSA(_EC_HASHES[alg]()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _verify_signature(key: PublicKey, alg: str, signature: bytes, signing_input: bytes) -> bool:
    if not _fits(key, alg):
        return False
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _verify_ecdsa(key, alg, signature, signing_input)
    if alg == "RS256":
        scheme: padding.AsymmetricPadding = padding.PKCS1v15()
    else:  # PS256: MGF1 with SHA-256 and a salt as long as the hash (RFC 7518 section 3.5)
        scheme = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    try:
        key.verify(signature, signing_input, scheme, hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def _x5c(chain: Sequence[x509.Certificate]) -> list[str]:
    return [
        base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain
    ]


def create_jws(
    payload: bytes,
    *,
    url: str,
    nonce: str,
    chain: Sequence[x509.Certificate],
    sign: Callable[[bytes], bytes],
    alg: JwsAlgorithm = "RS256",
) -> dict[str, str]:
    """Sign ``payload`` for ``url`` with the key of ``chain[0]``, through ``sign``.

    ``sign(signing_input)`` returns the raw signature for ``alg`` (PKCS#1 v1.5 or PSS
    with SHA-256; ``r || s`` for ES256/ES384); it is a callable so an eID card can sign
    through PKCS#11 without the key ever leaving it. The result is checked against
    ``chain[0]`` before it is returned, so a card that signed with another key (say, its
    signature key instead of its authentication key) is caught here rather than as a
    refusal from the server.
    """
    if not isinstance(payload, bytes):
        raise TypeError("payload must be bytes")
    for field, value in (("url", url), ("nonce", nonce)):
        if not isinstance(value, str):
            raise TypeError(f"{field} must be a string")
        if not value:
            raise ValueError(f"{field} must not be empty")
    if not _BASE64URL.fullmatch(nonce):
        raise ValueError("nonce must be base64url (RFC 8555 section 6.5.1)")
    if alg not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"alg must be one of {sorted(SUPPORTED_ALGORITHMS)}")
    certificates = tuple(chain)
    if not certificates or not all(isinstance(c, x509.Certificate) for c in certificates):
        raise TypeError("chain must be a non-empty sequence of x509.Certificate")
    key = certificates[0].public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or not _fits(key, alg):
        raise ValueError(f"{alg} does not fit the key in the first certificate of chain")
    header = {"alg": alg, "nonce": nonce, "url": url, "x5c": _x5c(certificates)}
    protected = b64url_encode(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    encoded_payload = b64url_encode(payload)
    signing_input = _signing_input(protected, encoded_payload)
    signature = sign(signing_input)
    if not isinstance(signature, bytes):
        raise TypeError("sign must return bytes")
    if not _verify_signature(key, alg, signature, signing_input):
        raise _unauthorized(
            f"The {alg} signature just made does not verify with the key of the first "
            "certificate in the chain; the signing key does not belong to that certificate."
        )
    return {
        "protected": protected,
        "payload": encoded_payload,
        "signature": b64url_encode(signature),
    }


def _members(document: Mapping[str, object] | bytes) -> tuple[str, str, str]:
    if isinstance(document, bytes):
        if len(document) > MAX_DOCUMENT_SIZE:
            raise EhcertError(
                ErrorKind.PAYLOAD_TOO_LARGE,
                f"The JWS is larger than {MAX_DOCUMENT_SIZE} bytes.",
            )
        parsed: Mapping[str, object] = _json_object(document, "JWS")
    elif isinstance(document, Mapping):
        parsed = document
    else:
        raise TypeError("document must be bytes or a mapping")
    extra = sorted(str(name) for name in parsed if name not in _MEMBERS)
    if extra:
        raise _malformed(
            f"The JWS has the member {extra[0]!r}; a proof of identity carries only "
            "'protected', 'payload' and 'signature'."
        )
    values = []
    for name in _MEMBERS:
        value = parsed.get(name)
        if not isinstance(value, str):
            raise _malformed(f"The JWS member {name!r} is missing or not a string.")
        values.append(value)
    if sum(len(v) for v in values) > MAX_DOCUMENT_SIZE:
        raise EhcertError(
            ErrorKind.PAYLOAD_TOO_LARGE, f"The JWS is larger than {MAX_DOCUMENT_SIZE} characters."
        )
    return values[0], values[1], values[2]


def _header_string(header: Mapping[str, object], name: str) -> str:
    value = header.get(name)
    if not isinstance(value, str) or not value:
        raise _malformed(f"The JWS protected header has no {name!r} string.")
    return value


def _chain(header: Mapping[str, object]) -> tuple[x509.Certificate, ...]:
    """Decode ``x5c``: standard base64 (with padding) DER certificates (RFC 7515 4.1.6)."""
    encoded = header.get("x5c")
    if encoded is None:
        raise _malformed(
            "The JWS protected header has no 'x5c'; the signer certificate must be sent there."
        )
    if not isinstance(encoded, list) or not encoded:
        raise _malformed("The JWS header member 'x5c' is not a non-empty array.")
    if len(encoded) > MAX_CHAIN_LENGTH:
        raise _malformed(f"The JWS header member 'x5c' holds more than {MAX_CHAIN_LENGTH} items.")
    certificates = []
    for position, item in enumerate(encoded):
        try:
            if not isinstance(item, str):
                raise ValueError("not a string")
            der = base64.b64decode(item.encode("ascii"), validate=True)
            if base64.b64encode(der).decode("ascii") != item:
                raise ValueError("not canonical base64")
            certificate = x509.load_der_x509_certificate(der)
            if certificate.public_bytes(serialization.Encoding.DER) != der:
                raise ValueError("not DER")
        except (ValueError, binascii.Error, UnicodeEncodeError, x509.InvalidVersion):
            raise _malformed(
                f"Item {position} of the JWS header member 'x5c' is not a base64 DER certificate."
            ) from None
        _check_readable(certificate, position)
        certificates.append(certificate)
    return tuple(certificates)


def _check_readable(certificate: x509.Certificate, position: int) -> None:
    """Refuse a certificate whose names or extensions cannot be decoded.

    The certificate parser reads them lazily; a name holding bytes that are not valid for
    its string type (RFC 5280 section 4.1.2.4) or a duplicated extension would otherwise
    fail later, deep inside whatever first looks at it, instead of as a refusal here.
    """
    try:
        certificate.subject.rfc4514_string()
        certificate.issuer.rfc4514_string()
        for extension in certificate.extensions:
            _ = extension.value
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as error:
        raise _malformed(
            f"Item {position} of the JWS header member 'x5c' cannot be read: {error}."
        ) from None


def _signer_key(certificate: x509.Certificate, alg: str) -> PublicKey:
    """The leaf's key, judged by the key policy (named curve, point on it) and fit for
    ``alg``."""
    try:
        problem, key = spki_problem(
            certificate_spki(certificate), "key of the first x5c certificate"
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        problem, key = None, None
    if problem is not None:
        raise refuse(problem)
    if key is None:
        raise EhcertError(ErrorKind.BAD_KEY, "The key of the first x5c certificate cannot be read.")
    if not _fits(key, alg):
        wanted = {"ES256": "an EC P-256 key", "ES384": "an EC P-384 key"}.get(alg, "an RSA key")
        raise EhcertError(
            ErrorKind.BAD_KEY,
            f"The JWS algorithm {alg} needs {wanted}, but the first x5c certificate holds "
            f"another; sign with {algorithm_for(key)}.",
        )
    return key


def _check_algorithm(header: Mapping[str, object]) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise _malformed("The JWS protected header has no 'alg' string.")
    if alg in SUPPORTED_ALGORITHMS:
        return alg
    if alg == "none":
        raise _unauthorized(f"The JWS is unsigned (alg 'none'); sign it with {_ALLOWED}.")
    if alg in _HMAC_ALGORITHMS:
        raise _unauthorized(
            f"The JWS uses the shared-secret algorithm {alg}; sign it with {_ALLOWED}."
        )
    raise _unauthorized(f"The JWS algorithm {alg!r} is not accepted; use {_ALLOWED}.")


def verify_jws(document: Mapping[str, object] | bytes, *, expected_url: str) -> VerifiedJws:
    """Verify a flattened-JSON JWS proof of identity made for ``expected_url``.

    Refusals: MALFORMED (form), UNAUTHORIZED (algorithm, signature, URL), BAD_KEY (the
    signer key), PAYLOAD_TOO_LARGE. The nonce is returned, not checked.
    """
    if not isinstance(expected_url, str) or not expected_url:
        raise TypeError("expected_url must be a non-empty string")
    protected, encoded_payload, encoded_signature = _members(document)
    if not protected:
        raise _malformed("The JWS member 'protected' is empty; the header must be protected.")
    header = _json_object(_b64url_decode(protected, "protected"), "JWS protected header")
    payload = _b64url_decode(encoded_payload, "payload")
    signature = _b64url_decode(encoded_signature, "signature")
    if "crit" in header:
        raise _malformed("The JWS header lists critical extensions ('crit'); none is supported.")
    alg = _check_algorithm(header)
    foreign = [name for name in _FOREIGN_KEY_PARAMETERS if name in header]
    if foreign:
        raise _malformed(
            f"The JWS header has {foreign[0]!r}; the signer key is taken only from 'x5c'."
        )
    if "b64" in header:
        raise _malformed("The JWS header has 'b64'; the payload must be base64url-encoded.")
    nonce = _header_string(header, "nonce")
    if not _BASE64URL.fullmatch(nonce):
        raise _malformed("The JWS header member 'nonce' is not base64url.")
    url = _header_string(header, "url")
    chain = _chain(header)
    key = _signer_key(chain[0], alg)
    if not _verify_signature(key, alg, signature, _signing_input(protected, encoded_payload)):
        raise _unauthorized(
            "The JWS signature does not verify with the key of the first x5c certificate."
        )
    if url != expected_url:
        raise _unauthorized(
            f"The JWS was signed for the URL {url!r}, not for this request's URL {expected_url!r}."
        )
    extra = {k: v for k, v in header.items() if k not in ("alg", "nonce", "url", "x5c")}
    return VerifiedJws(
        payload=payload,
        url=url,
        nonce=nonce,
        alg=alg,
        chain=chain,
        extra_header=MappingProxyType(extra),
    )
